import { EncryptedDataKey, NodeAlgorithmSuite, NodeEncryptionMaterial } from '@aws-crypto/client-node';
import { SignatureKey, unwrapDataKey } from '@aws-crypto/material-management';

interface SharedTrace {
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly flags: number;
}

/**
 * One message's encryption materials as plain data, to post to an encryption worker: what the
 * SDK's `cloneMaterial` copies (the suite, the encryption context with its public key, the data
 * key and its trace, each encrypted data key with its trace, and the signing key), in a form the
 * structured clone carries. The data key is a copy of its own, so it can be transferred.
 */
export interface SharedMaterial {
  readonly suiteId: number;
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly dataKey: Uint8Array;
  readonly dataKeyTrace: SharedTrace;
  readonly encryptedDataKeys: readonly {
    readonly providerId: string;
    readonly providerInfo: string;
    readonly encryptedDataKey: Uint8Array;
    /** The provider info's exact bytes, where a raw keyring's are binary (the header writes these). */
    readonly rawInfo?: Uint8Array;
    readonly trace: SharedTrace;
  }[];
  /** For signing suites: the private key as the SDK keeps it (PEM) and the compressed public point. */
  readonly signatureKey?: { readonly privateKey: string; readonly compressPoint: Uint8Array };
}

const plainTrace = ({ keyNamespace, keyName, flags }: SharedTrace): SharedTrace => ({ keyNamespace, keyName, flags });

/** Copies what the worker needs out of `material`; the caller zeroes `material` as the SDK would. */
export function shareMaterial(material: NodeEncryptionMaterial): SharedMaterial {
  const [dataKeyTrace, ...traces] = material.keyringTrace;
  if (dataKeyTrace === undefined || traces.length !== material.encryptedDataKeys.length) {
    throw new Error('encryption materials without a trace for the data key and each encrypted data key');
  }
  const signatureKey = material.signatureKey;
  const privateKey = signatureKey?.privateKey;
  if (material.suite.signatureCurve !== undefined && typeof privateKey !== 'string') {
    throw new Error('signing suite materials without a signing key');
  }
  // Node keeps the data key as a KeyObject where it can: its bytes, for the structured clone.
  const exported = unwrapDataKey(material.getUnencryptedDataKey());
  const dataKey = new Uint8Array(exported);
  exported.fill(0);
  return {
    suiteId: material.suite.id,
    encryptionContext: { ...material.encryptionContext },
    dataKey,
    dataKeyTrace: plainTrace(dataKeyTrace),
    encryptedDataKeys: material.encryptedDataKeys.map((edk, index) => ({
      providerId: edk.providerId,
      providerInfo: edk.providerInfo,
      // Copies of the views alone: a view is cloned with its whole buffer (a KMS response, say).
      encryptedDataKey: new Uint8Array(edk.encryptedDataKey),
      ...(edk.rawInfo === undefined ? {} : { rawInfo: new Uint8Array(edk.rawInfo) }),
      trace: plainTrace(traces[index] as SharedTrace),
    })),
    ...(signatureKey === undefined || typeof privateKey !== 'string'
      ? {}
      : { signatureKey: { privateKey, compressPoint: new Uint8Array(signatureKey.compressPoint) } }),
  };
}

/** The SDK's materials again, in the worker, checked by the SDK's own setters as `cloneMaterial` builds them. */
export function materialFrom(shared: SharedMaterial): NodeEncryptionMaterial {
  const suite = new NodeAlgorithmSuite(shared.suiteId);
  const material = new NodeEncryptionMaterial(suite, shared.encryptionContext);
  material.setUnencryptedDataKey(shared.dataKey, shared.dataKeyTrace);
  for (const edk of shared.encryptedDataKeys) {
    material.addEncryptedDataKey(
      new EncryptedDataKey({
        providerId: edk.providerId,
        providerInfo: edk.providerInfo,
        encryptedDataKey: edk.encryptedDataKey,
        ...(edk.rawInfo === undefined ? {} : { rawInfo: edk.rawInfo }),
      }),
      edk.trace.flags,
    );
  }
  if (shared.signatureKey !== undefined) {
    // The Node SDK keeps the private key as PEM and its constructor takes PEM as it is; its types
    // name only the raw bytes (which it turns into PEM) and Web Crypto keys.
    const privateKey = shared.signatureKey.privateKey as unknown as Uint8Array;
    material.setSignatureKey(new SignatureKey(privateKey, shared.signatureKey.compressPoint, suite));
  }
  return material;
}
