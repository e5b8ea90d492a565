/// Anchors of Verity transparency-log checkpoints.
///
/// A shared `Registry` per log records, for each anchored checkpoint, its
/// tree size and RFC 6962 root hash, with the log key id (C2SP signed-note
/// key id of the key that signed the checkpoint), and emits
/// `CheckpointAnchored`. Only the holder of the registry's `AnchorCap`
/// anchors; anchored sizes strictly grow, so an anchor can never move the
/// log back or replace a root.
module verity::anchor;

use std::string::String;
use sui::clock::Clock;
use sui::event;
use sui::table::{Self, Table};

/// The root is not 32 bytes.
const EBadRoot: u64 = 1;
/// The tree size is not larger than the latest anchored one.
const ENotGrowing: u64 = 2;
/// The capability belongs to another registry.
const EWrongCap: u64 = 3;

/// Permission to anchor checkpoints in one registry.
public struct AnchorCap has key, store {
    id: UID,
    registry: ID,
}

/// One log's anchored checkpoints.
public struct Registry has key {
    id: UID,
    /// The log's origin (first line of its checkpoints).
    origin: String,
    /// C2SP key id of the log key.
    log_key_id: u32,
    /// Size of the latest anchored checkpoint (0: none yet).
    latest_size: u64,
    /// Root of each anchored checkpoint, by tree size.
    roots: Table<u64, vector<u8>>,
}

/// Emitted for every anchored checkpoint.
public struct CheckpointAnchored has copy, drop {
    registry: ID,
    tree_size: u64,
    root_hash: vector<u8>,
    log_key_id: u32,
    timestamp_ms: u64,
}

/// Creates a shared registry for the log `origin` and returns its capability.
public fun create(origin: String, log_key_id: u32, ctx: &mut TxContext): AnchorCap {
    let registry = Registry {
        id: object::new(ctx),
        origin,
        log_key_id,
        latest_size: 0,
        roots: table::new(ctx),
    };
    let cap = AnchorCap { id: object::new(ctx), registry: object::id(&registry) };
    transfer::share_object(registry);
    cap
}

/// `create`, sending the capability to the sender.
entry fun create_registry(origin: String, log_key_id: u32, ctx: &mut TxContext) {
    transfer::public_transfer(create(origin, log_key_id, ctx), ctx.sender());
}

/// Anchors the checkpoint of `tree_size` entries with `root_hash`.
public fun anchor(
    registry: &mut Registry,
    cap: &AnchorCap,
    tree_size: u64,
    root_hash: vector<u8>,
    clock: &Clock,
) {
    assert!(cap.registry == object::id(registry), EWrongCap);
    assert!(root_hash.length() == 32, EBadRoot);
    assert!(tree_size > registry.latest_size, ENotGrowing);
    registry.latest_size = tree_size;
    registry.roots.add(tree_size, root_hash);
    event::emit(CheckpointAnchored {
        registry: object::id(registry),
        tree_size,
        root_hash,
        log_key_id: registry.log_key_id,
        timestamp_ms: clock.timestamp_ms(),
    });
}

/// The anchored root of `tree_size`, if that checkpoint was anchored.
public fun root(registry: &Registry, tree_size: u64): Option<vector<u8>> {
    if (registry.roots.contains(tree_size)) {
        option::some(*registry.roots.borrow(tree_size))
    } else {
        option::none()
    }
}

/// Size of the latest anchored checkpoint.
public fun latest_size(registry: &Registry): u64 { registry.latest_size }

/// The log's origin.
public fun origin(registry: &Registry): String { registry.origin }

/// The log key id.
public fun log_key_id(registry: &Registry): u32 { registry.log_key_id }
