/**
 * The OPC UA server's trust list (node-opcua's PKI folder): client
 * certificates it refused wait in rejected/ until an administrator trusts
 * one (`planta opcua trust`), which moves it to trusted/certs/.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';

/** A certificate file (PEM or DER) as DER, and its SHA-1 thumbprint in hex (as OPC UA names certificates). */
function read(file: string): { der: Buffer; thumbprint: string } {
  const x = new X509Certificate(readFileSync(file));
  return { der: x.raw, thumbprint: x.fingerprint.replaceAll(':', '').toLowerCase() };
}

export interface CertificateInfo {
  file: string;
  thumbprint: string;
}

function listed(dir: string): CertificateInfo[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.(pem|der)$/.test(f));
  } catch {
    return [];
  }
  return files.map((f) => ({ file: join(dir, f), thumbprint: read(join(dir, f)).thumbprint }));
}

export const rejectedCertificates = (pki: string): CertificateInfo[] => listed(join(pki, 'rejected'));
export const trustedCertificates = (pki: string): CertificateInfo[] => listed(join(pki, 'trusted', 'certs'));

/** Trusts a certificate: a file, or the thumbprint (or its start) of one in rejected/. Returns it, or undefined when none matches. */
export async function trustCertificate(pki: string, what: string): Promise<CertificateInfo | undefined> {
  const found = rejectedCertificates(pki).find((c) => what.length >= 8 && c.thumbprint.startsWith(what.toLowerCase()));
  const file = found?.file ?? (/\.(pem|der)$/.test(what) ? what : undefined);
  if (!file) return undefined;
  const manager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: false });
  await manager.initialize();
  try {
    const cert = read(file);
    await manager.trustCertificate(cert.der);
    return { file, thumbprint: cert.thumbprint };
  } finally {
    await manager.dispose();
  }
}
