//! Verifying an audit chain without re-reading all of it on every call.
//!
//! A verification goes on from the chain's checkpoint: the sequence number and hash of the
//! newest event an earlier verification found intact, sealed with the deployment's HMAC key and
//! stored beside the head. A call opens the seal, re-hashes the checkpointed event, walks only
//! the events appended since, and moves the checkpoint up to the head. So a verification costs
//! a few reads however long the chain, and a chain rewritten consistently up to its head (the
//! hashes alone are keyless: anyone who can write the table can recompute them) is caught at
//! the checkpoint, whose seal cannot be recomputed without the key.
//!
//! An event before the checkpoint that is edited without re-linking the chain is found by a
//! full walk (`Start::Genesis`), which re-reads every event from the first. One call checks at
//! most [`MAX_EVENTS_PER_CALL`] events; a walk that stops short of the head answers with a
//! sealed cursor to go on from, so a chain of any length is verified within the API's timeout.

use super::chain::{chain_keys, chain_name, hash_of, seq_id, AuditEvent, ChainKeys, Head, GENESIS};
use crate::error::ApiResult;
use crate::ids::TenantId;
use crate::store::{Condition, CursorCodec, Item, LastKey, QuerySpec, SortRange, Store, StoreError};
use serde::{Deserialize, Serialize};

/// What checkpoints and continuation cursors are sealed for.
const PURPOSE: &str = "audit-verified";
/// Events read per request: a decoded page stays near 1 MB of heap (1,000 took 5 MB).
const PAGE: u32 = 250;
/// Events one call checks at most: within API Gateway's 29 s even on slow reads.
pub const MAX_EVENTS_PER_CALL: u64 = 2_000;

/// Where a verification starts.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    /// From the chain's checkpoint (the first event when there is none).
    Checkpoint,
    /// From the first event, whatever was verified before.
    Genesis,
    /// Where an earlier call of a walk stopped: its `next_cursor`.
    Cursor(&'a str),
}

/// An event found intact: its chain, sequence number and hash. Sealed, it is a checkpoint or
/// a cursor; the chain's name inside the seal keeps one chain's seal out of another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Verified {
    chain: String,
    seq: u64,
    hash: String,
}

/// The stored checkpoint item's body.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    seq: u64,
    sealed: String,
}

/// The result of one verification call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub valid: bool,
    /// Events in the chain: the head's sequence number.
    pub events: u64,
    /// The events this call checked, first and last (0 and 0: none). Those before were found
    /// intact by earlier verifications, up to the checkpoint this call started from.
    pub checked_from: u64,
    pub checked_through: u64,
    /// Whether the check reached the head; when it did not, `next_cursor` goes on from there.
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_invalid_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Verification {
    fn failed(events: u64, checked_from: u64, first_invalid_seq: Option<u64>, reason: &str) -> Self {
        Self {
            valid: false,
            events,
            checked_from,
            checked_through: first_invalid_seq.map_or(0, |s| s.saturating_sub(1).max(checked_from)),
            complete: false,
            next_cursor: None,
            first_invalid_seq,
            reason: Some(reason.to_string()),
        }
    }
}

/// Verifies the chain of `tenant` (the platform's for none) from `start`, and moves its
/// checkpoint up to what was found intact.
pub async fn verify(store: &Store, codec: &CursorCodec, tenant: Option<&TenantId>, start: Start<'_>) -> ApiResult<Verification> {
    verify_with(store, codec, tenant, start, PAGE, MAX_EVENTS_PER_CALL).await
}

/// Walks the whole chain from its first event to its head, however many calls' worth: for
/// operators' tools and jobs, which have no API timeout to stay within.
pub async fn verify_all(store: &Store, codec: &CursorCodec, tenant: Option<&TenantId>) -> ApiResult<Verification> {
    let mut result = verify(store, codec, tenant, Start::Genesis).await?;
    let checked_from = result.checked_from;
    while let Some(cursor) = result.next_cursor.take() {
        result = verify(store, codec, tenant, Start::Cursor(&cursor)).await?;
    }
    result.checked_from = checked_from;
    Ok(result)
}

async fn verify_with(
    store: &Store,
    codec: &CursorCodec,
    tenant: Option<&TenantId>,
    start: Start<'_>,
    page_size: u32,
    max_events: u64,
) -> ApiResult<Verification> {
    let keys = chain_keys(tenant);
    let chain = chain_name(tenant);
    // The head first: events appended while this call walks are left for the next one.
    let mut found = store.get_many(&[keys.checkpoint(), keys.head()]).await?.into_iter();
    let stored = found.next().flatten();
    let head = match found.next().flatten() {
        Some(item) => item.decode::<Head>()?,
        None => Head::genesis(),
    };
    let events = head.seq();
    let stored_checkpoint = stored.as_ref().map(|item| open_checkpoint(codec, item, &chain));
    let anchor = match start {
        Start::Genesis => Verified { chain, seq: 0, hash: GENESIS.into() },
        Start::Cursor(token) => {
            let cursor: Verified = codec.open_value(PURPOSE, token)?;
            if cursor.chain != chain {
                return Err(StoreError::BadCursor.into());
            }
            cursor
        }
        Start::Checkpoint => match &stored_checkpoint {
            None => Verified { chain, seq: 0, hash: GENESIS.into() },
            Some(Ok(checkpoint)) => checkpoint.clone(),
            Some(Err(())) => return Ok(Verification::failed(events, 0, None, "the verification checkpoint was altered")),
        },
    };
    if anchor.seq > events {
        return Ok(Verification::failed(events, 0, Some(events + 1), "events verified earlier are gone"));
    }
    let checked_from = if anchor.seq > 0 { anchor.seq } else { u64::from(events > 0) };
    let walked = match walk(store, &keys, &anchor, events.min(anchor.seq + max_events), page_size).await? {
        Ok(last) => last,
        Err((first_invalid, reason)) => return Ok(Verification::failed(events, checked_from, Some(first_invalid), reason)),
    };
    let complete = walked.seq == events;
    if complete && walked.hash != head.hash() {
        return Ok(Verification::failed(events, checked_from, Some(events), "the newest event does not match the head"));
    }
    let next_cursor = (!complete).then(|| codec.seal_value(PURPOSE, &walked));
    if stored_checkpoint.as_ref().is_none_or(|c| c.as_ref().is_ok_and(|c| c.seq < walked.seq)) {
        advance_checkpoint(store, codec, &keys, stored, &walked).await;
    }
    Ok(Verification {
        valid: true,
        events,
        checked_from,
        checked_through: walked.seq,
        complete,
        next_cursor,
        first_invalid_seq: None,
        reason: None,
    })
}

/// Checks the events from `anchor` (re-hashing the anchor's own event) through `last`: each
/// in its slot, in sequence, linked to its predecessor and hashing to its stored hash. The
/// newest one checked, or the first that failed and why.
async fn walk(
    store: &Store,
    keys: &ChainKeys,
    anchor: &Verified,
    last: u64,
    page_size: u32,
) -> ApiResult<Result<Verified, (u64, &'static str)>> {
    let mut expected = anchor.seq.max(1);
    let mut prev = if anchor.seq == 0 { GENESIS.to_string() } else { String::new() };
    let mut cursor: Option<LastKey> = None;
    while expected <= last {
        let spec = QuerySpec {
            partition: keys.partition(),
            range: SortRange::Between(seq_id(expected), seq_id(last)),
            limit: page_size,
            forward: true,
            start_after: cursor.take(),
        };
        let page = store.table().query(spec).await?;
        for item in &page.items {
            let Ok(event) = item.decode::<AuditEvent>() else {
                return Ok(Err((expected, "an event is not readable")));
            };
            if item.key.sk() != seq_id(event.seq) {
                return Ok(Err((expected, "an event was moved to another position")));
            }
            if event.seq != expected {
                return Ok(Err((expected, "an event is missing or out of order")));
            }
            if event.seq == anchor.seq {
                // Its predecessor was checked before; its own hash is the one sealed then.
                if event.hash != anchor.hash || hash_of(&event) != event.hash {
                    return Ok(Err((event.seq, "an event verified earlier was rewritten")));
                }
            } else if event.prev_hash != prev {
                return Ok(Err((event.seq, "an event does not link to its predecessor")));
            } else if hash_of(&event) != event.hash {
                return Ok(Err((event.seq, "an event was altered")));
            }
            prev = event.hash;
            expected += 1;
        }
        cursor = page.last;
        if cursor.is_none() {
            break;
        }
    }
    if expected <= last {
        let reason = if anchor.seq > 0 && expected == anchor.seq {
            "an event verified earlier was removed"
        } else {
            "the newest events were removed"
        };
        return Ok(Err((expected, reason)));
    }
    Ok(Ok(Verified { chain: anchor.chain.clone(), seq: expected - 1, hash: prev }))
}

/// The checkpoint a stored item seals; `Err` when its seal does not open for this chain.
fn open_checkpoint(codec: &CursorCodec, item: &Item, chain: &str) -> Result<Verified, ()> {
    let checkpoint: Checkpoint = item.decode().map_err(|_| ())?;
    let verified: Verified = codec.open_value(PURPOSE, &checkpoint.sealed).map_err(|_| ())?;
    if verified.chain != chain || verified.seq != checkpoint.seq {
        return Err(());
    }
    Ok(verified)
}

/// Stores `verified` as the chain's checkpoint, over the one read (`stored`) if still there. A
/// concurrent verification that moved it first wins; a failed write costs the next call a
/// longer walk, not a wrong answer, so it is logged rather than failing this one.
async fn advance_checkpoint(store: &Store, codec: &CursorCodec, keys: &ChainKeys, stored: Option<Item>, verified: &Verified) {
    let body = Checkpoint { seq: verified.seq, sealed: codec.seal_value(PURPOSE, verified) };
    let Ok(body) = serde_json::to_value(body) else { return };
    let (item, condition) = match stored {
        Some(mut item) => {
            item.body = body;
            item.next_version()
        }
        None => (Item::new(keys.checkpoint(), body), Condition::NotExists),
    };
    match store.put(item, condition).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => tracing::warn!(event = "audit_checkpoint_not_stored", error = %e, "the verification checkpoint was not moved"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::tests::{append_events, store};
    use crate::store::Write;

    fn codec() -> CursorCodec {
        CursorCodec::new(&[9u8; 32])
    }

    async fn check(store: &Store, t: &TenantId, start: Start<'_>) -> Verification {
        verify(store, &codec(), Some(t), start).await.unwrap()
    }

    fn assert_valid(v: &Verification, events: u64, from: u64, through: u64) {
        assert!(v.valid && v.complete, "{v:?}");
        assert_eq!((v.events, v.checked_from, v.checked_through), (events, from, through), "{v:?}");
    }

    /// Stored items of the chain by sequence number (1-based).
    async fn event_item(store: &Store, t: &TenantId, seq: u64) -> Item {
        store.get(&chain_keys(Some(t)).event(seq)).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn each_verification_checks_only_what_was_appended_since_the_last() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        append_events(&store, &t, 0..5).await;
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 5, 1, 5);
        // Nothing new: only the checkpointed event is re-hashed.
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 5, 5, 5);
        append_events(&store, &t, 5..8).await;
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 8, 5, 8);
        // A full walk re-reads everything, and leaves the checkpoint where it was.
        assert_valid(&check(&store, &t, Start::Genesis).await, 8, 1, 8);
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 8, 8, 8);
        // An empty chain is intact.
        let empty = TenantId::generate();
        assert_valid(&check(&store, &empty, Start::Checkpoint).await, 0, 0, 0);
    }

    #[tokio::test]
    async fn a_long_walk_goes_on_from_its_cursor_across_calls_and_pages() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        append_events(&store, &t, 0..10).await;
        let first = verify_with(&store, &codec(), Some(&t), Start::Genesis, 3, 4).await.unwrap();
        assert!(first.valid && !first.complete, "{first:?}");
        assert_eq!((first.checked_from, first.checked_through), (1, 4));
        let cursor = first.next_cursor.clone().unwrap();
        let second = verify_with(&store, &codec(), Some(&t), Start::Cursor(&cursor), 3, 4).await.unwrap();
        assert_eq!((second.checked_from, second.checked_through, second.complete), (4, 8, false), "{second:?}");
        let cursor = second.next_cursor.unwrap();
        let third = verify_with(&store, &codec(), Some(&t), Start::Cursor(&cursor), 3, 4).await.unwrap();
        assert_valid(&third, 10, 8, 10);
        assert!(third.next_cursor.is_none());

        // A cursor is refused when edited, or on another chain.
        let (body, tag) = cursor.split_once('.').unwrap();
        let forged = format!("{body}x.{tag}");
        assert!(verify(&store, &codec(), Some(&t), Start::Cursor(&forged)).await.is_err());
        let other = TenantId::generate();
        append_events(&store, &other, 0..10).await;
        assert!(verify(&store, &codec(), Some(&other), Start::Cursor(&cursor)).await.is_err());
    }

    #[tokio::test]
    async fn a_chain_rewritten_consistently_up_to_its_head_is_caught_at_the_checkpoint() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        append_events(&store, &t, 0..6).await;
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 6, 1, 6);
        // Rewrite event 3 and re-hash everything after it, head included: a keyless chain
        // walked from its start finds nothing wrong.
        let keys = chain_keys(Some(&t));
        let mut prev = event_item(&store, &t, 2).await.decode::<AuditEvent>().unwrap().hash;
        let mut writes = Vec::new();
        for seq in 3..=6 {
            let item = event_item(&store, &t, seq).await;
            let mut event: AuditEvent = item.decode().unwrap();
            if seq == 3 {
                event.outcome = "denied".into();
            }
            event.prev_hash = prev.clone();
            event.hash = hash_of(&event);
            prev = event.hash.clone();
            let (mut replaced, condition) = item.next_version();
            replaced.body = serde_json::to_value(&event).unwrap();
            writes.push(Write::Put { item: replaced, condition });
        }
        let head = store.get(&keys.head()).await.unwrap().unwrap();
        let (mut new_head, condition) = head.next_version();
        new_head.body["hash"] = serde_json::json!(prev);
        writes.push(Write::Put { item: new_head, condition });
        store.transact(writes).await.unwrap();
        assert_valid(&check(&store, &t, Start::Genesis).await, 6, 1, 6);

        let v = check(&store, &t, Start::Checkpoint).await;
        assert_eq!((v.valid, v.first_invalid_seq, v.reason.as_deref()), (false, Some(6), Some("an event verified earlier was rewritten")));
    }

    #[tokio::test]
    async fn a_forged_moved_or_outrun_checkpoint_fails_verification() {
        let (_dir, store) = store();
        let t = TenantId::generate();
        append_events(&store, &t, 0..4).await;
        check(&store, &t, Start::Checkpoint).await;
        let keys = chain_keys(Some(&t));
        let stored = store.get(&keys.checkpoint()).await.unwrap().unwrap();

        // Forged: a checkpoint further on, without the key.
        let forged = CursorCodec::new(&[1u8; 32]).seal_value(PURPOSE, &Verified { chain: chain_name(Some(&t)), seq: 4, hash: "00".into() });
        let (mut item, condition) = stored.clone().next_version();
        item.body = serde_json::json!({"seq": 4, "sealed": forged});
        store.put(item, condition).await.unwrap();
        let v = check(&store, &t, Start::Checkpoint).await;
        assert_eq!((v.valid, v.reason.as_deref()), (false, Some("the verification checkpoint was altered")), "{v:?}");
        // A full walk reports the events intact but leaves the forged checkpoint to be looked into.
        assert_valid(&check(&store, &t, Start::Genesis).await, 4, 1, 4);
        assert!(!check(&store, &t, Start::Checkpoint).await.valid);

        // Copied from another tenant's chain.
        let other = TenantId::generate();
        append_events(&store, &other, 0..4).await;
        check(&store, &other, Start::Checkpoint).await;
        let theirs = store.get(&chain_keys(Some(&other)).checkpoint()).await.unwrap().unwrap();
        let current = store.get(&keys.checkpoint()).await.unwrap().unwrap();
        let (mut item, condition) = current.next_version();
        item.body = theirs.body.clone();
        store.put(item, condition).await.unwrap();
        assert!(!check(&store, &t, Start::Checkpoint).await.valid);

        // The chain cut back below the checkpoint: the events it covered are gone.
        let current = store.get(&keys.checkpoint()).await.unwrap().unwrap();
        let (mut item, condition) = current.next_version();
        item.body = stored.body.clone();
        store.put(item, condition).await.unwrap();
        assert_valid(&check(&store, &t, Start::Checkpoint).await, 4, 4, 4);
        let head = store.get(&keys.head()).await.unwrap().unwrap();
        let third = event_item(&store, &t, 3).await.decode::<AuditEvent>().unwrap();
        let (mut cut, condition) = head.next_version();
        cut.body = serde_json::json!({"seq": 3, "hash": third.hash});
        store
            .transact(vec![Write::Put { item: cut, condition }, Write::Delete { key: keys.event(4), condition: Condition::None }])
            .await
            .unwrap();
        let v = check(&store, &t, Start::Checkpoint).await;
        assert_eq!((v.valid, v.first_invalid_seq, v.reason.as_deref()), (false, Some(4), Some("events verified earlier are gone")));
    }

    #[tokio::test]
    async fn detects_altered_removed_and_reordered_events() {
        async fn tampered(edit: impl FnOnce(&ChainKeys, Vec<Item>) -> Vec<Write>) -> Verification {
            let (_dir, store) = store();
            let t = TenantId::generate();
            append_events(&store, &t, 0..5).await;
            let keys = chain_keys(Some(&t));
            let mut items = Vec::new();
            for seq in 1..=5 {
                items.push(event_item(&store, &t, seq).await);
            }
            store.transact(edit(&keys, items)).await.unwrap();
            check(&store, &t, Start::Checkpoint).await
        }
        let altered = tampered(|_, items| {
            let mut item = items[2].clone();
            item.body["outcome"] = serde_json::json!("success-but-edited");
            vec![Write::Put { item, condition: Condition::None }]
        })
        .await;
        assert_eq!((altered.valid, altered.first_invalid_seq), (false, Some(3)), "{altered:?}");
        assert_eq!(altered.reason.as_deref(), Some("an event was altered"));

        let removed = tampered(|_, items| vec![Write::Delete { key: items[1].key.clone(), condition: Condition::None }]).await;
        assert_eq!((removed.valid, removed.first_invalid_seq), (false, Some(2)), "{removed:?}");

        let swapped = tampered(|keys, items| {
            let mut a = Item::new(keys.event(4), items[1].body.clone());
            a.version = 2;
            let mut b = Item::new(keys.event(2), items[3].body.clone());
            b.version = 2;
            vec![Write::Put { item: a, condition: Condition::None }, Write::Put { item: b, condition: Condition::None }]
        })
        .await;
        assert_eq!((swapped.valid, swapped.first_invalid_seq), (false, Some(2)), "{swapped:?}");

        let truncated = tampered(|_, items| vec![Write::Delete { key: items[4].key.clone(), condition: Condition::None }]).await;
        assert!(!truncated.valid, "{truncated:?}");
        assert_eq!(truncated.reason.as_deref(), Some("the newest events were removed"));
    }
}
