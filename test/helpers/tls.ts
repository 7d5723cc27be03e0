/** A test certificate authority made with the real openssl, and certificates it signs. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';

export interface TestCa {
  dir: string;
  /** The CA certificate (what tls.ca_bundle names). */
  caFile: string;
  /** Key and certificate for a subjectAltName such as "IP:10.0.2.2", signed by the CA or by itself. */
  cert(name: string, san: string, signer?: 'ca' | 'self'): Promise<{ cert: string; key: string }>;
}

export async function makeTestCa(dir: string): Promise<TestCa> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '30', '-subj', '/CN=inetboot test CA']);
  return {
    dir,
    caFile,
    cert: async (name, san, signer = 'ca') => {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      if (signer === 'self') {
        await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`]);
        return { cert, key };
      }
      const csr = join(dir, `${name}.csr`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${san}\n`);
      await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '30', '-extfile', ext]);
      return { cert, key };
    },
  };
}
