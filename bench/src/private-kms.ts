import { type Emulator, findMotoServer, startMoto } from '@records/local-stack';
import { createKmsFixture, type KmsFixture } from '@records/local-stack/testing';
import { DEFAULT_REGIONS } from '@records/pipeline-config';
import getPort from 'get-port';

const running = new Set<Emulator>();

/** Stops every moto_server still running, for a benchmark that has to give up. */
export async function stopPrivateKms(): Promise<void> {
  await Promise.allSettled([...running].map((moto) => moto.stop()));
}

/**
 * Runs `work` against a moto_server of its own on a free loopback port, behind the recording
 * proxy, and stops both afterwards. Each section of the benchmark gets a fresh one, so the calls
 * one section piles into moto do not slow the next.
 */
export async function withPrivateKms<T>(work: (kms: KmsFixture) => Promise<T>): Promise<T> {
  const command = await findMotoServer();
  if (command === undefined) throw new Error('moto_server is not on PATH; the benchmark needs it');
  const moto = await startMoto({ port: await getPort({ host: '127.0.0.1' }), command });
  running.add(moto);
  try {
    const kms = await createKmsFixture(moto.endpoint, DEFAULT_REGIONS);
    try {
      return await work(kms);
    } finally {
      await kms.close();
    }
  } finally {
    running.delete(moto);
    await moto.stop();
  }
}
