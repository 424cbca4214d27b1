/**
 * Offline schema validation of Kubernetes objects with the kubernetes-models packages (generated
 * from the Kubernetes OpenAPI schemas; @kubernetes-models/keda from KEDA's CRDs, cert-manager from
 * its CRDs): the stand-in for the API server's own validation, which the provider runs against the
 * cluster's schema at preview (pulumi-kubernetes provider.go Check). `validate()` throws on a schema
 * error.
 */

interface Model {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Model;

/** The package path of a model: core "v1" -> kubernetes-models/v1/<Kind>, CRDs from their packages. */
export function modelPath(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  if (apiVersion.startsWith('cert-manager.io/')) return `@kubernetes-models/cert-manager/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Validates one object (apiVersion and kind from the object); throws with the schema's message. */
export async function validateObject(object: Record<string, unknown>): Promise<void> {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modelPath(apiVersion, kind))) as Record<string, unknown>;
  } catch {
    throw new Error(`no schema model for ${apiVersion} ${kind}`);
  }
  const Model = mod[kind] as ModelClass | undefined;
  if (typeof Model !== 'function') throw new Error(`no schema model for ${apiVersion} ${kind}`);
  new Model(object).validate();
}
