// Validates Kubernetes manifests (multi-document YAML on stdin) against the Kubernetes and Prometheus Operator
// schemas of kubernetes-models; prints {"validated": [...], "errors": [...]} as JSON. Run by test/k8s.spec.ts
// (a child process: the models are ES modules, which Jest's CommonJS runtime cannot load).
import { parseAllDocuments } from 'yaml';

const input = await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text));
});

const validated = [];
const errors = [];
for (const document of parseAllDocuments(input)) {
  const manifest = document.toJSON();
  if (!manifest) continue;
  const { apiVersion, kind } = manifest;
  const where = `${kind}/${manifest.metadata?.name}`;
  // kustomize folds long base64 values over lines; the API server ignores the newlines (Go's base64 decoding does).
  if (kind === 'Secret' && manifest.data)
    for (const key of Object.keys(manifest.data)) manifest.data[key] = manifest.data[key].replace(/\s+/g, '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
      : group
        ? `kubernetes-models/${group}/${version}/${kind}`
        : `kubernetes-models/${version}/${kind}`;
  try {
    const { [kind]: Model } = await import(module);
    new Model(manifest).validate();
    validated.push(where);
  } catch (error) {
    errors.push(`${where}: ${error.message.split('\n').slice(0, 6).join(' ')}`);
  }
}
process.stdout.write(JSON.stringify({ validated, errors }));
