import { KmsKeyringNode } from '@aws-crypto/client-node';
import { AwsClients } from '@records/aws-clients';
import { KmsProxy } from './kms-proxy.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * KMS keys in two regions of moto, and keyrings whose clients go through a recording proxy: the
 * generator region generates each data key, the other region wraps it; each consumer unwraps with
 * its own region's key only.
 */
export interface KmsFixture {
  readonly proxy: KmsProxy;
  readonly generatorRegion: string;
  readonly otherRegion: string;
  readonly keyArns: Readonly<Record<string, string>>;
  producerKeyring(): KmsKeyringNode;
  consumerKeyring(region: string): KmsKeyringNode;
  close(): Promise<void>;
}

export async function createKmsFixture(
  motoEndpoint: string,
  regions: readonly string[],
  options: { maxAttempts?: number } = {},
): Promise<KmsFixture> {
  const [generatorRegion, otherRegion] = regions;
  if (generatorRegion === undefined || otherRegion === undefined) throw new Error('two regions are needed');
  const direct = new AwsClients({ endpoints: { kms: motoEndpoint }, credentials });
  const keyArns: Record<string, string> = {};
  for (const region of [generatorRegion, otherRegion]) {
    const created = await direct.kms(region).createKey({ Description: 'data-key-cache tests' });
    const arn = created.KeyMetadata?.Arn;
    if (arn === undefined) throw new Error(`moto created no key in ${region}`);
    keyArns[region] = arn;
  }
  direct.destroy();
  const proxy = await KmsProxy.start(motoEndpoint);
  const clients = new AwsClients({
    endpoints: { kms: proxy.url },
    credentials,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
  const clientProvider = (region: string) => clients.kms(region);
  const arnIn = (region: string) => {
    const arn = keyArns[region];
    if (arn === undefined) throw new Error(`no key in ${region}`);
    return arn;
  };
  return {
    proxy,
    generatorRegion,
    otherRegion,
    keyArns,
    producerKeyring: () =>
      new KmsKeyringNode({ generatorKeyId: arnIn(generatorRegion), keyIds: [arnIn(otherRegion)], clientProvider }),
    consumerKeyring: (region) => new KmsKeyringNode({ keyIds: [arnIn(region)], clientProvider }),
    close: async () => {
      clients.destroy();
      await proxy.close();
    },
  };
}
