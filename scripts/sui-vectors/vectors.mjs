// Golden vectors for crates/anchor: the Verity `anchor::anchor` transaction
// built and signed by the TypeScript SDK (@mysten/sui, pinned in
// package.json) for fixed keys, object refs, gas and checkpoints. The Rust
// builder must produce the same bytes, digest and signature
// (crates/anchor/tests/vectors.rs). Offline: no client, every input fully
// resolved. Run: `npm ci && npm run vectors`.
import { Transaction } from '@mysten/sui/transactions';
import { Ed25519Keypair } from '@mysten/sui/keypairs/ed25519';
import { toBase64 } from '@mysten/sui/utils';

const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));

// Shared by every case: the package, registry, capability and gas coin.
const base = {
  package: '0x7a3f1c9e0b5d2e4f6a8b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7',
  registry: { objectId: '0x1111111111111111111111111111111111111111111111111111111111111111', initialSharedVersion: 7 },
  cap: { objectId: '0x2222222222222222222222222222222222222222222222222222222222222222', version: 12, digest: '4WsoXQmyTjpZ2Kh9HntoReUQZgeoiQhs4jbrZ2MnWtBU' },
  gasCoin: { objectId: '0x3333333333333333333333333333333333333333333333333333333333333333', version: 15, digest: '8J5ZfYrKH8GAGvx7pvm7xbqj3xbUBuqHwNEqHCsCs2rP' },
};

const cases = [
  { name: 'first', seed: '00'.repeat(32), treeSize: 1, rootHash: 'aa'.repeat(32), gasPrice: 1000, gasBudget: 10000000 },
  {
    name: 'large',
    seed: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20',
    treeSize: 1234567890123,
    rootHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    gasPrice: 750,
    gasBudget: 50000000,
  },
];

const out = { sdk: '@mysten/sui 2.33.1', module: 'anchor', function: 'anchor', ...base, cases: [] };
for (const c of cases) {
  const keypair = Ed25519Keypair.fromSecretKey(hex(c.seed));
  const sender = keypair.toSuiAddress();
  const tx = new Transaction();
  tx.moveCall({
    target: `${base.package}::anchor::anchor`,
    arguments: [
      tx.sharedObjectRef({ ...base.registry, mutable: true }),
      tx.objectRef(base.cap),
      tx.pure.u64(c.treeSize),
      tx.pure.vector('u8', hex(c.rootHash)),
      tx.sharedObjectRef({ objectId: '0x6', initialSharedVersion: 1, mutable: false }),
    ],
  });
  tx.setSender(sender);
  tx.setGasPrice(c.gasPrice);
  tx.setGasBudget(c.gasBudget);
  tx.setGasPayment([base.gasCoin]);
  const bytes = await tx.build();
  const digest = await tx.getDigest();
  const { signature } = await keypair.signTransaction(bytes);
  out.cases.push({
    ...c,
    sender,
    publicKey: toBase64(keypair.getPublicKey().toRawBytes()),
    txBytes: toBase64(bytes),
    digest,
    signature,
  });
}
console.log(JSON.stringify(out, null, 2));
