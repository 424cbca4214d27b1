import { Document } from 'yaml';

/**
 * YAML text for a config object, with a leading comment. Written so that YAML 1.1 parsers
 * (cloud-init's PyYAML, caddy-yaml's go-yaml v2) and 1.2 parsers read the same values: strings
 * such as "yes", "on" or "0644" are quoted. No anchors/aliases: shared objects are written out.
 */
export function toYamlText(value: unknown, comment: string): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  doc.commentBefore = comment;
  return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}
