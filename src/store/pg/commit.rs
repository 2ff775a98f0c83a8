//! One commit of the PostgreSQL backend, in named steps.
//!
//! Takes: a [`Batch`] and the feed's new state. Gives: the rows to write, prepared outside the
//! transaction (and outside the ingest lock the caller holds) — everything encoded but the
//! sequence numbers, which are drawn in the statement and read back from their column, never
//! from the record — and [`Prepared::write`], which writes them inside the caller's
//! transaction. Guarantees: a key stored meanwhile by another writer stays as it is (one
//! story, one record), and only the items this commit inserted gain index entries, aliases and
//! counts; a copy is recorded once, and only for a story still stored.

use super::pool::{pg, Conn};
use super::{category_code, near_rows, DELETE_NEAR_ROWS};
use crate::model::{Category, FeedState, StoredItem};
use crate::store::{copy_id, encode, encode_item, page_key, relabelled, Batch, StoreError};

/// The columns of a commit's new items, as arrays for `unnest`.
#[derive(Default)]
struct NewRows {
    keys: Vec<String>,
    /// The sequence number to keep (`feedsift migrate`), or `None`: drawn in the statement.
    given: Vec<Option<i64>>,
    /// The first 8 bytes of the page key (the sort time); the statement appends the number.
    sort_ts: Vec<Vec<u8>>,
    cats: Vec<i16>,
    feeds: Vec<String>,
    firsts: Vec<i64>,
    records: Vec<Vec<u8>>,
    near_band: Vec<i16>,
    near_hash: Vec<i64>,
    near_key: Vec<String>,
    alias: Vec<String>,
    target: Vec<String>,
}

impl NewRows {
    /// The rows of `new`, keeping their sequence numbers when `keep_seq`.
    fn of(new: &[StoredItem], keep_seq: bool) -> Result<NewRows, StoreError> {
        let mut n = NewRows::default();
        for item in new {
            n.keys.push(item.key.clone());
            n.given.push(keep_seq.then_some(item.seq as i64));
            n.sort_ts.push(page_key(item)[..8].to_vec());
            n.cats.push(category_code(item.class.category));
            n.feeds.push(item.source.feed_id.clone());
            n.firsts.push(item.first_seen.timestamp_micros());
            n.records.push(encode_item(item)?);
            for (index, hash) in item.near.iter().enumerate().filter(|(_, h)| **h != 0) {
                n.near_band.push(index as i16);
                n.near_hash.push(*hash as i64);
                n.near_key.push(item.key.clone());
            }
            if let Some(a) = &item.link_alias {
                n.alias.push(a.clone());
                n.target.push(item.key.clone());
            }
        }
        Ok(n)
    }
}

/// The columns of a commit's copies, as arrays for `unnest`.
#[derive(Default)]
struct CopyRows {
    stories: Vec<String>,
    ids: Vec<Vec<u8>>,
    records: Vec<Vec<u8>>,
    /// The copy's own key, which becomes an alias of the story.
    aliases: Vec<Option<String>>,
}

/// A commit ready to write.
pub(super) struct Prepared {
    new: NewRows,
    keep_seq: bool,
    /// The highest sequence number kept (`keep_seq`): later ones are drawn above it.
    max_given: i64,
    state_id: Option<String>,
    state_bytes: Option<Vec<u8>>,
    /// Edited stories: (new version, its record, stored version).
    updated: Vec<(StoredItem, Vec<u8>, StoredItem)>,
    copies: CopyRows,
    /// Named blobs to write: names, bytes.
    blob_names: Vec<String>,
    blob_bytes: Vec<Vec<u8>>,
}

impl Prepared {
    /// Encodes everything `batch` and `feed` write.
    pub(super) fn new(
        batch: Batch,
        feed: Option<(&str, &FeedState)>,
    ) -> Result<Prepared, StoreError> {
        let (state_id, state_bytes) = match feed {
            Some((id, st)) => (Some(id.to_string()), Some(encode(id, st)?)),
            None => (None, None),
        };
        let updated = batch
            .updated
            .into_iter()
            .map(|(n, o)| encode_item(&n).map(|b| (n, b, o)))
            .collect::<Result<_, _>>()?;
        let mut copies = CopyRows::default();
        for (story, copy) in batch.also_at {
            copies.records.push(encode(&story, &copy)?);
            copies.ids.push(copy_id(&copy).to_vec());
            copies.aliases.push(copy.key);
            copies.stories.push(story);
        }
        Ok(Prepared {
            new: NewRows::of(&batch.new, batch.keep_seq)?,
            keep_seq: batch.keep_seq,
            max_given: batch.new.iter().map(|i| i.seq).max().unwrap_or(0) as i64,
            state_id,
            state_bytes,
            updated,
            copies,
            blob_names: batch.blobs.iter().map(|b| b.0.clone()).collect(),
            blob_bytes: batch.blobs.into_iter().map(|b| b.1).collect(),
        })
    }

    /// Writes the commit in the caller's transaction (which holds the sequence lock).
    pub(super) fn write(&self, tx: &mut Conn) -> Result<(), StoreError> {
        self.raise_sequence(tx)?;
        self.insert_new(tx)?;
        self.apply_updates(tx)?;
        self.record_copies(tx)?;
        self.write_blobs(tx)
    }

    /// Replaces the named blobs.
    fn write_blobs(&self, tx: &mut Conn) -> Result<(), StoreError> {
        if self.blob_names.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO feedsift_blobs (name, bytes)
             SELECT * FROM unnest($1::text[], $2::bytea[])
             ON CONFLICT (name) DO UPDATE SET bytes = EXCLUDED.bytes",
            &[&self.blob_names, &self.blob_bytes],
        )
        .map_err(pg("commit: blobs"))?;
        Ok(())
    }

    /// Moves the sequence above the numbers kept, so later ones are drawn above them.
    fn raise_sequence(&self, tx: &mut Conn) -> Result<(), StoreError> {
        if self.keep_seq && !self.new.keys.is_empty() {
            tx.execute(
                "SELECT setval('feedsift_seq', GREATEST($1, (SELECT last_value FROM feedsift_seq)))",
                &[&self.max_given],
            )
            .map_err(pg("commit: sequence"))?;
        }
        Ok(())
    }

    /// One statement: the new items (a key stored meanwhile by another writer stays as it is:
    /// one story, one record), and for those inserted only, their near-index entries, aliases
    /// (one row per alias: entries may share a link) and counts; and the feed's state.
    fn insert_new(&self, tx: &mut Conn) -> Result<(), StoreError> {
        if self.new.keys.is_empty() && self.state_id.is_none() {
            return Ok(());
        }
        let n = &self.new;
        tx.execute(
            "WITH ins AS (
                 INSERT INTO feedsift_items (key, seq, date_key, category, feed_id, first_seen_us, record)
                 SELECT x.k, x.s, x.d || int8send(x.s), x.c, x.f, x.t, x.r
                 FROM (SELECT u.k, COALESCE(u.given, nextval('feedsift_seq')) AS s,
                              u.d, u.c, u.f, u.t, u.r
                       FROM unnest($1::text[], $2::int8[], $3::bytea[], $4::int2[],
                                   $5::text[], $6::int8[], $7::bytea[])
                            WITH ORDINALITY AS u(k, given, d, c, f, t, r, o)
                       ORDER BY u.o) x
                 ON CONFLICT (key) DO NOTHING
                 RETURNING key, seq, feed_id
             ), nr AS (
                 INSERT INTO feedsift_near (band, hash, seq, key)
                 SELECT v.b, v.h, ins.seq, ins.key
                 FROM unnest($8::int2[], $9::int8[], $10::text[]) AS v(b, h, k)
                 JOIN ins ON ins.key = v.k
                 ON CONFLICT DO NOTHING
             ), al AS (
                 INSERT INTO feedsift_aliases (alias, target)
                 SELECT DISTINCT ON (a.a) a.a, a.t
                 FROM unnest($11::text[], $12::text[]) AS a(a, t)
                 JOIN ins ON ins.key = a.t
                 ON CONFLICT (alias) DO UPDATE SET target = EXCLUDED.target
             ), cnt AS (
                 INSERT INTO feedsift_feed_counts (feed_id, n)
                 SELECT feed_id, count(*) FROM ins GROUP BY feed_id
                 ON CONFLICT (feed_id) DO UPDATE SET n = feedsift_feed_counts.n + EXCLUDED.n
             ), fs AS (
                 INSERT INTO feedsift_feeds (feed_id, state)
                 SELECT $13::text, $14::bytea WHERE $13::text IS NOT NULL
                 ON CONFLICT (feed_id) DO UPDATE SET state = EXCLUDED.state
             )
             SELECT count(*) FROM ins",
            &[
                &n.keys,
                &n.given,
                &n.sort_ts,
                &n.cats,
                &n.feeds,
                &n.firsts,
                &n.records,
                &n.near_band,
                &n.near_hash,
                &n.near_key,
                &n.alias,
                &n.target,
                &self.state_id,
                &self.state_bytes,
            ],
        )
        .map_err(pg("commit: items"))?;
        Ok(())
    }

    /// The labels the admin gave the edited stories, by key: the newest correction of each.
    fn corrected_labels(
        &self,
        tx: &mut Conn,
    ) -> Result<std::collections::HashMap<String, Category>, StoreError> {
        if self.updated.is_empty() {
            return Ok(Default::default());
        }
        let keys: Vec<String> = self.updated.iter().map(|u| u.0.key.clone()).collect();
        let rows = tx
            .query(
                "SELECT DISTINCT ON (item_key) item_key, label FROM feedsift_corrections
                 WHERE item_key = ANY($1) ORDER BY item_key, id DESC",
                &[&keys],
            )
            .map_err(pg("commit: corrections"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let code = r.get::<_, i16>(1);
                let label = Category::ALL.get(usize::try_from(code).ok()?)?;
                Some((r.get::<_, String>(0), *label))
            })
            .collect())
    }

    /// Rewrites edited stories, moving their index entries when their keys changed; a
    /// corrected story keeps the admin's label.
    fn apply_updates(&self, tx: &mut Conn) -> Result<(), StoreError> {
        let corrected = self.corrected_labels(tx)?;
        for (item, record, old) in &self.updated {
            let (kept, kept_record);
            let (item, record) = match corrected.get(&item.key) {
                Some(label) => {
                    kept = relabelled(item.clone(), *label);
                    kept_record = encode_item(&kept)?;
                    (&kept, &kept_record)
                }
                None => (item, record),
            };
            tx.execute(
                "UPDATE feedsift_items SET record = $2, date_key = $3, category = $4 WHERE key = $1",
                &[
                    &item.key,
                    record,
                    &page_key(item).to_vec(),
                    &category_code(item.class.category),
                ],
            )
            .map_err(pg("commit: update"))?;
            if item.near != old.near {
                let (bands, hashes, seqs) = near_rows([old]);
                tx.execute(DELETE_NEAR_ROWS, &[&bands, &hashes, &seqs])
                    .map_err(pg("commit: update near index"))?;
                let (bands, hashes): (Vec<i16>, Vec<i64>) = item
                    .near
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| **h != 0)
                    .map(|(i, h)| (i as i16, *h as i64))
                    .unzip();
                tx.execute(
                    "INSERT INTO feedsift_near (band, hash, seq, key)
                     SELECT b, h, $3, $4 FROM unnest($1::int2[], $2::int8[]) AS x(b, h)
                     ON CONFLICT DO NOTHING",
                    &[&bands, &hashes, &(item.seq as i64), &item.key],
                )
                .map_err(pg("commit: update near index"))?;
            }
        }
        Ok(())
    }

    /// Records each copy once, and only for a story still stored; a recorded copy's own key
    /// becomes an alias of the story.
    fn record_copies(&self, tx: &mut Conn) -> Result<(), StoreError> {
        if self.copies.stories.is_empty() {
            return Ok(());
        }
        let c = &self.copies;
        tx.execute(
            "WITH x AS (
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[])
                     AS x(story, copy_id, record, alias)
             ), c AS (
                 INSERT INTO feedsift_copies (story, copy_id, record)
                 SELECT story, copy_id, record FROM x
                 WHERE EXISTS (SELECT 1 FROM feedsift_items i WHERE i.key = x.story)
                 ON CONFLICT DO NOTHING RETURNING story, copy_id
             )
             INSERT INTO feedsift_aliases (alias, target)
             SELECT DISTINCT ON (x.alias) x.alias, x.story
             FROM x JOIN c ON c.story = x.story AND c.copy_id = x.copy_id
             WHERE x.alias IS NOT NULL
             ON CONFLICT (alias) DO UPDATE SET target = EXCLUDED.target",
            &[&c.stories, &c.ids, &c.records, &c.aliases],
        )
        .map_err(pg("commit: copies"))?;
        Ok(())
    }
}
