import { initializeLogger, tts } from '@livekit/agents';
import { FakeOpenAiServer } from './src/dev/fake-openai-server.js';
import { buildLocalTts } from './src/voice/providers.js';
initializeLogger({ pretty: false, level: 'silent' });
process.on('unhandledRejection', (r, p) => { console.log('UNHANDLED', (r as Error).message); });
const s = await new FakeOpenAiServer({ ttsModels: ['kokoro'], voices: ['af_heart'] }).start();
s.fail = 500;
const local = buildLocalTts({ url: s.baseURL, model: 'kokoro', voice: 'af_heart', apiKey: 'local' });
local.on('error', (e) => console.log('error event', e.error.message));
try { await local.synthesize('hello').collect(); } catch (e) { console.log('caught', (e as Error).message); }
await new Promise((r) => setTimeout(r, 500));
console.log('--- stream path via adapter');
const chain = new tts.FallbackAdapter({ ttsInstances: [local, buildLocalTts({ url: s.baseURL, model: 'kokoro', voice: 'af_heart', apiKey: 'local' })] });
chain.on('error', (e) => console.log('chain error', e.error.message));
try { await chain.synthesize('hello').collect(); } catch (e) { console.log('caught', (e as Error).message); }
await new Promise((r) => setTimeout(r, 500));
await s.close();
