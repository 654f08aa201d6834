//! The grant store's records and operations: what each operation does,
//! atomically, to one subject's grants. A store (in memory, or a Durable
//! Object with SQLite storage) only persists [`GrantRecord`]s through a
//! [`GrantTable`] and runs [`execute`] on it, one command at a time; every
//! decision of the refresh lifecycle is made here.
//!
//! A record holds metadata only: who (client), for what (resource, scope),
//! when (created, last used, rotated), the current refresh generation and
//! whether it is revoked. Never a key, never a token.

use crate::grants::device::{self, DeviceRecord, DeviceState, Guesses, Lookup, Poll, GUESS_WINDOW};

/// Which kind of token a grant handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantMode {
    /// Sealed access tokens with a rotating refresh token.
    Sealed,
    /// The API key itself (recorded so the person sees who holds it).
    Passthrough,
}

/// One grant: an approval of one client, for one resource and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's id (random or derived, base64url).
    pub id: String,
    /// The client it was granted to.
    pub client_id: String,
    /// The client's name as it gave it (unverified).
    pub client_name: Option<String>,
    /// The host that received the code (the redirect URI's host).
    pub client_host: Option<String>,
    /// The RFC 8707 resource, normalized.
    pub resource: Option<String>,
    /// The granted scope.
    pub scope: Option<String>,
    /// What the client received.
    pub mode: GrantMode,
    /// Unix time of the approval.
    pub created: u64,
    /// Unix time of the last refresh (or of the approval).
    pub last_used: u64,
    /// The generation of the current refresh token (0 at the code exchange).
    pub generation: u64,
    /// Unix time the current generation was minted.
    pub rotated_at: u64,
    /// Revoked: every refresh fails, introspection says inactive.
    pub revoked: bool,
}

/// An operation on one subject's grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantCommand {
    /// Adds a grant; a grant with that id already there is left as it is
    /// (so a retried code exchange creates nothing twice).
    Create {
        /// The new grant.
        record: GrantRecord,
    },
    /// Rotates the refresh token of generation `generation` (see [`rotate`]).
    Rotate {
        /// The grant.
        id: String,
        /// The generation of the presented refresh token.
        generation: u64,
        /// The time of the request.
        now: u64,
        /// How long a just-rotated token still gets its successor.
        grace: u64,
        /// The refresh token's idle lifetime.
        idle: u64,
    },
    /// One grant.
    Get {
        /// The grant.
        id: String,
    },
    /// Every grant of the subject, newest first.
    List,
    /// Revokes one grant, or all of them.
    Revoke {
        /// The grant, or `None` for all.
        id: Option<String>,
    },
    /// Removes a grant's record (a passthrough approval the person no
    /// longer wants listed).
    Forget {
        /// The grant.
        id: String,
    },
    /// Stores a new device authorization (RFC 8628), indexed by its id and
    /// its user code; `Taken` if a live one already has that user code.
    DevicePut {
        /// The new record.
        device: DeviceRecord,
    },
    /// A person typed a user code: counts a wrong one against every `who`
    /// (browser, IP), and refuses to look when one is over the limit.
    DeviceLookup {
        /// The keyed hash of the normalized user code.
        user: String,
        /// Who is guessing (e.g. `ip:…`, `browser:…`).
        who: Vec<String>,
        /// The time of the entry.
        now: u64,
    },
    /// The person's answer: approve (with the key, sealed) or deny, only
    /// if the request is still pending and unexpired.
    DeviceDecide {
        /// The device record.
        id: String,
        /// The sealed key to approve with, or `None` to deny.
        sealed: Option<String>,
        /// The subject of the sealed grant recorded for the approval.
        subject: Option<String>,
        /// The time of the answer.
        now: u64,
    },
    /// The device polls (see [`device::poll`]).
    DevicePoll {
        /// The device record.
        id: String,
        /// The polling client.
        client_id: String,
        /// The time of the poll.
        now: u64,
    },
}

/// The answer to a [`GrantCommand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantReply {
    /// `Create`, `Forget`: done.
    Done,
    /// `Rotate`.
    Rotation {
        /// What happened.
        outcome: Rotation,
    },
    /// `Get`.
    Record {
        /// The grant, if known.
        record: Option<GrantRecord>,
    },
    /// `List`.
    Records {
        /// Newest first.
        records: Vec<GrantRecord>,
    },
    /// `Revoke`: how many grants were revoked now.
    Revoked {
        /// Grants that were active and are now revoked.
        count: u32,
    },
    /// `DevicePut`: that user code is in use; draw another.
    Taken,
    /// `DeviceLookup`.
    Lookup {
        /// What the entry found.
        outcome: Lookup,
    },
    /// `DeviceDecide`: the record as answered; the record as it is when an
    /// approval with the same subject already stands (a repeated approval,
    /// changing nothing); `None` when it was not pending any more (expired,
    /// answered otherwise, unknown).
    Device {
        /// The answered record.
        device: Option<DeviceRecord>,
    },
    /// `DevicePoll`.
    Poll {
        /// What the device gets.
        outcome: Poll,
    },
}

/// What a refresh did to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was current: the grant moved to `generation`.
    Rotated {
        /// The successor's generation.
        generation: u64,
    },
    /// The presented token was rotated less than the grace window ago: the
    /// same successor (of `generation`, the current one) is handed out again.
    Replayed {
        /// The successor's generation.
        generation: u64,
    },
    /// Refused; the refresh answers `invalid_grant`.
    Refused {
        /// Why.
        reason: Refusal,
    },
}

/// Why a refresh was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such grant.
    Unknown,
    /// The grant is revoked.
    Revoked,
    /// The refresh token was idle longer than its lifetime.
    Expired,
    /// An old refresh token came back after the grace window: the grant is
    /// revoked now (RFC 9700 §4.14.2).
    Reused,
}

/// Synchronous storage of one subject's records: what a store provides so
/// that [`execute`] can run a command between no other.
pub trait GrantTable {
    /// The record with `id`.
    fn get(&self, id: &str) -> Option<GrantRecord>;
    /// Inserts or replaces a record.
    fn put(&mut self, record: &GrantRecord);
    /// Removes a record.
    fn remove(&mut self, id: &str);
    /// Every record, in any order.
    fn all(&self) -> Vec<GrantRecord>;
    /// A document (device records, their user-code index, guess counters)
    /// by key: JSON text, apart from the grant records.
    fn doc(&self, key: &str) -> Option<String>;
    /// Inserts or replaces a document.
    fn put_doc(&mut self, key: &str, json: &str);
    /// Removes a document.
    fn remove_doc(&mut self, key: &str);
    /// The keys of documents from `from` (included) to `below` (excluded),
    /// in byte order, at most `limit` of them.
    fn doc_keys(&self, from: &str, below: &str, limit: usize) -> Vec<String>;
}

/// How long after its expiry a device record (and its user-code index) is
/// kept: until then a late poll still gets `expired_token`; after, a later
/// device command deletes it, and with it an approved key, sealed, that was
/// never redeemed.
pub const DEVICE_SWEEP_AFTER: u64 = 3600;

/// The most due documents one device command deletes: the work of a
/// command stays bounded, and each command schedules at most one.
const SWEEP_BATCH: usize = 8;

/// The sweep queue is documents keyed `sweep:<time, 20 digits>:<key>`: the
/// document `key` is looked at (and deleted if it is dead) once `time` has
/// come. Byte order of the keys is time order.
fn sweep_entry(at: u64, key: &str) -> String {
    format!("sweep:{at:020}:{key}")
}

/// Works off at most [`SWEEP_BATCH`] due sweep entries: an expired device
/// record and its user-code index (unless a newer request took the code),
/// a guess counter whose window is over (unless a newer window began).
fn sweep(table: &mut dyn GrantTable, now: u64) {
    // ';' follows ':': every entry whose time is `now` or earlier.
    for entry in table.doc_keys("sweep:", &format!("sweep:{now:020};"), SWEEP_BATCH) {
        match entry.splitn(3, ':').nth(2) {
            Some(counter) if counter.starts_with("guess:") => {
                let over = table.doc(counter).and_then(|t| Guesses::parse(&t)).is_none_or(|g| g.at(now).count == 0);
                if over {
                    table.remove_doc(counter);
                }
            }
            Some(id) => match table.doc(id).map(|text| crate::json::from_slice::<DeviceRecord>(text.as_bytes())) {
                Some(Ok(device)) if now >= device.expires_at.saturating_add(DEVICE_SWEEP_AFTER) => {
                    let index = user_key(&device.user);
                    if table.doc(&index).as_deref() == Some(id) {
                        table.remove_doc(&index);
                    }
                    table.remove_doc(id);
                }
                // A record no command can read (damaged, or of a format this
                // version does not know) is of no use to anyone: its entry came
                // due after the longest a device flow lives, so it goes too.
                // Its user-code index, if any, leads nowhere (an unknown code)
                // until a new request takes the code.
                Some(Err(_)) => table.remove_doc(id),
                Some(Ok(_)) | None => {}
            },
            None => {}
        }
        table.remove_doc(&entry);
    }
}

/// Orders grants newest first (ties by id), as `List` answers them.
pub fn newest_first(records: &mut [GrantRecord]) {
    records.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
}

fn user_key(user: &str) -> String {
    format!("user:{user}")
}

fn get_device(table: &dyn GrantTable, id: &str) -> Option<DeviceRecord> {
    table.doc(id).and_then(|text| crate::json::from_slice(text.as_bytes()).ok())
}

fn put_device(table: &mut dyn GrantTable, record: &DeviceRecord) {
    table.put_doc(&record.id, &crate::json::encode(record));
}

/// The guess counter of `who`.
fn guesses(table: &dyn GrantTable, who: &str, now: u64) -> Guesses {
    table
        .doc(&format!("guess:{who}"))
        .and_then(|text| Guesses::parse(&text))
        .unwrap_or(Guesses { count: 0, since: now })
        .at(now)
}

fn device_command(table: &mut dyn GrantTable, command: GrantCommand) -> GrantReply {
    match command {
        GrantCommand::DevicePut { device } => {
            sweep(table, device.requested_at);
            let index = user_key(&device.user);
            let live = table
                .doc(&index)
                .and_then(|id| get_device(table, &id))
                .is_some_and(|d| d.answerable(device.requested_at));
            if live {
                return GrantReply::Taken;
            }
            put_device(table, &device);
            table.put_doc(&index, &device.id);
            table.put_doc(&sweep_entry(device.expires_at.saturating_add(DEVICE_SWEEP_AFTER), &device.id), "");
            GrantReply::Done
        }
        GrantCommand::DeviceLookup { user, who, now } => {
            sweep(table, now);
            if let Some(wait) = who.iter().filter_map(|w| guesses(table, w, now).wait(now)).max() {
                return GrantReply::Lookup { outcome: Lookup::Limited { wait } };
            }
            let found = table.doc(&user_key(&user)).and_then(|id| get_device(table, &id)).filter(|d| d.answerable(now));
            let outcome = match found {
                Some(device) => Lookup::Found { device: Box::new(device) },
                None => {
                    for w in &who {
                        let counted = guesses(table, w, now).wrong(now);
                        let key = format!("guess:{w}");
                        table.put_doc(&key, &counted.to_text());
                        if counted.count == 1 {
                            // A new window: swept once it is over.
                            table.put_doc(&sweep_entry(counted.since.saturating_add(GUESS_WINDOW), &key), "");
                        }
                    }
                    Lookup::Wrong
                }
            };
            GrantReply::Lookup { outcome }
        }
        GrantCommand::DeviceDecide { id, sealed, subject, now } => {
            let Some(mut device) = get_device(table, &id) else {
                return GrantReply::Device { device: None };
            };
            if !device.answerable(now) {
                // The same approval again (a reload, a second click: the
                // same key, so the same subject and grant): it stands, and
                // the record is answered as it is.
                let again = sealed.is_some()
                    && subject.is_some()
                    && device.subject == subject
                    && matches!(device.state, DeviceState::Approved | DeviceState::Redeemed);
                return GrantReply::Device { device: again.then_some(device) };
            }
            device.state = if sealed.is_some() { DeviceState::Approved } else { DeviceState::Denied };
            device.sealed = sealed;
            device.subject = subject;
            put_device(table, &device);
            // The user code is spent: it can no longer be found.
            table.remove_doc(&user_key(&device.user));
            GrantReply::Device { device: Some(device) }
        }
        GrantCommand::DevicePoll { id, client_id, now } => {
            let Some(mut device) = get_device(table, &id) else {
                return GrantReply::Poll { outcome: Poll::Unknown };
            };
            let before = device.clone();
            let outcome = device::poll(&mut device, &client_id, now);
            if device != before {
                put_device(table, &device);
            }
            GrantReply::Poll { outcome }
        }
        _ => GrantReply::Done,
    }
}

/// Runs one command on one subject's table. The caller guarantees that no
/// other command on the same table runs in between (a mutex, or a Durable
/// Object's single thread with no await inside).
pub fn execute(table: &mut dyn GrantTable, command: GrantCommand) -> GrantReply {
    match command {
        GrantCommand::Create { record } => {
            if table.get(&record.id).is_none() {
                table.put(&record);
            }
            GrantReply::Done
        }
        GrantCommand::Rotate { id, generation, now, grace, idle } => {
            let outcome = match table.get(&id) {
                None => Rotation::Refused { reason: Refusal::Unknown },
                Some(mut record) => {
                    let outcome = rotate(&mut record, generation, now, grace, idle);
                    table.put(&record);
                    outcome
                }
            };
            GrantReply::Rotation { outcome }
        }
        GrantCommand::Get { id } => GrantReply::Record { record: table.get(&id) },
        GrantCommand::List => {
            let mut records = table.all();
            newest_first(&mut records);
            GrantReply::Records { records }
        }
        GrantCommand::Revoke { id } => {
            let targets = match id {
                Some(id) => table.get(&id).into_iter().collect(),
                None => table.all(),
            };
            let mut count = 0;
            for mut record in targets.into_iter().filter(|r| !r.revoked) {
                record.revoked = true;
                table.put(&record);
                count += 1;
            }
            GrantReply::Revoked { count }
        }
        GrantCommand::Forget { id } => {
            table.remove(&id);
            GrantReply::Done
        }
        device @ (GrantCommand::DevicePut { .. }
        | GrantCommand::DeviceLookup { .. }
        | GrantCommand::DeviceDecide { .. }
        | GrantCommand::DevicePoll { .. }) => device_command(table, device),
    }
}

/// The refresh decision, on the grant's record:
///
/// - revoked: refused;
/// - idle past its lifetime: refused (and revoked: nothing renews it);
/// - the current generation: rotate to the next one;
/// - the previous generation, rotated at most `grace` seconds ago: the same
///   successor again (parallel processes of one client, or a client that
///   lost the answer), so one lineage survives;
/// - anything older, or the previous one after the grace window: reuse of a
///   rotated token, so the whole grant is revoked (RFC 9700 §4.14.2);
/// - a generation from the future cannot be presented (tokens are sealed):
///   refused as unknown.
pub fn rotate(record: &mut GrantRecord, generation: u64, now: u64, grace: u64, idle: u64) -> Rotation {
    let refused = |reason| Rotation::Refused { reason };
    if record.revoked {
        return refused(Refusal::Revoked);
    }
    if now > record.last_used.saturating_add(idle) {
        record.revoked = true;
        return refused(Refusal::Expired);
    }
    if generation == record.generation {
        record.generation += 1;
        record.rotated_at = now;
        record.last_used = now;
        return Rotation::Rotated { generation: record.generation };
    }
    if generation + 1 == record.generation && now <= record.rotated_at.saturating_add(grace) {
        record.last_used = record.last_used.max(now);
        return Rotation::Replayed { generation: record.generation };
    }
    if generation < record.generation {
        record.revoked = true;
        return refused(Refusal::Reused);
    }
    refused(Refusal::Unknown)
}

/// A [`GrantTable`] in memory, for the in-memory store: grants by id,
/// and documents by key. Reads as the map of its grants.
#[derive(Debug, Default, Clone)]
pub struct MemoryTable {
    /// The grant records, by id.
    pub grants: std::collections::HashMap<String, GrantRecord>,
    /// The documents, by key.
    pub docs: std::collections::HashMap<String, String>,
}

impl std::ops::Deref for MemoryTable {
    type Target = std::collections::HashMap<String, GrantRecord>;

    fn deref(&self) -> &Self::Target {
        &self.grants
    }
}

impl GrantTable for MemoryTable {
    fn get(&self, id: &str) -> Option<GrantRecord> {
        self.grants.get(id).cloned()
    }

    fn put(&mut self, record: &GrantRecord) {
        self.grants.insert(record.id.clone(), record.clone());
    }

    fn remove(&mut self, id: &str) {
        self.grants.remove(id);
    }

    fn all(&self) -> Vec<GrantRecord> {
        self.grants.values().cloned().collect()
    }

    fn doc(&self, key: &str) -> Option<String> {
        self.docs.get(key).cloned()
    }

    fn put_doc(&mut self, key: &str, json: &str) {
        self.docs.insert(key.to_string(), json.to_string());
    }

    fn remove_doc(&mut self, key: &str) {
        self.docs.remove(key);
    }

    fn doc_keys(&self, from: &str, below: &str, limit: usize) -> Vec<String> {
        let mut keys: Vec<String> =
            self.docs.keys().filter(|k| k.as_str() >= from && k.as_str() < below).cloned().collect();
        keys.sort();
        keys.truncate(limit);
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: u64 = 60;
    const IDLE: u64 = 3600;

    fn record(id: &str, created: u64) -> GrantRecord {
        GrantRecord {
            id: id.into(),
            client_id: "c".into(),
            client_name: None,
            client_host: None,
            resource: Some("https://mcp.example/mcp".into()),
            scope: Some("api".into()),
            mode: GrantMode::Sealed,
            created,
            last_used: created,
            generation: 0,
            rotated_at: created,
            revoked: false,
        }
    }

    fn rot(table: &mut MemoryTable, generation: u64, now: u64) -> Rotation {
        let cmd = GrantCommand::Rotate { id: "g".into(), generation, now, grace: GRACE, idle: IDLE };
        match execute(table, cmd) {
            GrantReply::Rotation { outcome } => outcome,
            other => panic!("{other:?}"),
        }
    }

    fn table() -> MemoryTable {
        let mut t = MemoryTable::default();
        execute(&mut t, GrantCommand::Create { record: record("g", 100) });
        t
    }

    #[test]
    fn rotation_moves_one_generation_at_a_time() {
        let mut t = table();
        assert_eq!(rot(&mut t, 0, 200), Rotation::Rotated { generation: 1 });
        assert_eq!(rot(&mut t, 1, 300), Rotation::Rotated { generation: 2 });
        assert_eq!(t["g"].last_used, 300);
    }

    #[test]
    fn replay_within_grace_gets_the_same_successor() {
        let mut t = table();
        assert_eq!(rot(&mut t, 0, 200), Rotation::Rotated { generation: 1 });
        assert_eq!(rot(&mut t, 0, 200 + GRACE), Rotation::Replayed { generation: 1 });
        assert_eq!(t["g"].generation, 1);
        assert!(!t["g"].revoked);
    }

    #[test]
    fn replay_after_grace_revokes_the_grant() {
        let mut t = table();
        rot(&mut t, 0, 200);
        assert_eq!(rot(&mut t, 0, 201 + GRACE), Rotation::Refused { reason: Refusal::Reused });
        assert!(t["g"].revoked);
        assert_eq!(rot(&mut t, 1, 202 + GRACE), Rotation::Refused { reason: Refusal::Revoked });
    }

    #[test]
    fn an_older_generation_revokes_even_within_grace() {
        let mut t = table();
        rot(&mut t, 0, 200);
        rot(&mut t, 1, 210);
        assert_eq!(rot(&mut t, 0, 215), Rotation::Refused { reason: Refusal::Reused });
        assert!(t["g"].revoked);
    }

    #[test]
    fn idle_lifetime_is_renewed_by_each_refresh() {
        let mut t = table();
        assert_eq!(rot(&mut t, 0, 100 + IDLE), Rotation::Rotated { generation: 1 });
        assert_eq!(rot(&mut t, 1, 100 + 2 * IDLE), Rotation::Rotated { generation: 2 });
        assert_eq!(rot(&mut t, 2, 101 + 3 * IDLE), Rotation::Refused { reason: Refusal::Expired });
    }

    #[test]
    fn unknown_future_and_revoked_grants_are_refused() {
        let mut t = table();
        assert_eq!(rot(&mut t, 5, 200), Rotation::Refused { reason: Refusal::Unknown });
        assert!(!t["g"].revoked);
        let cmd = GrantCommand::Rotate { id: "nope".into(), generation: 0, now: 1, grace: 1, idle: 1 };
        assert_eq!(
            execute(&mut t, cmd),
            GrantReply::Rotation { outcome: Rotation::Refused { reason: Refusal::Unknown } }
        );
        assert_eq!(execute(&mut t, GrantCommand::Revoke { id: Some("g".into()) }), GrantReply::Revoked { count: 1 });
        assert_eq!(execute(&mut t, GrantCommand::Revoke { id: Some("g".into()) }), GrantReply::Revoked { count: 0 });
        assert_eq!(rot(&mut t, 0, 200), Rotation::Refused { reason: Refusal::Revoked });
    }

    #[test]
    fn create_is_idempotent_and_list_is_newest_first() {
        let mut t = table();
        rot(&mut t, 0, 200);
        execute(&mut t, GrantCommand::Create { record: record("g", 100) });
        assert_eq!(t["g"].generation, 1, "a second create leaves the grant as it is");
        execute(&mut t, GrantCommand::Create { record: record("h", 500) });
        let GrantReply::Records { records } = execute(&mut t, GrantCommand::List) else { panic!() };
        assert_eq!(records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["h", "g"]);
        assert_eq!(execute(&mut t, GrantCommand::Revoke { id: None }), GrantReply::Revoked { count: 2 });
        execute(&mut t, GrantCommand::Forget { id: "h".into() });
        assert!(t.get("h").is_none());
    }

    #[test]
    fn commands_and_replies_round_trip_as_json() {
        let cmd = GrantCommand::Rotate { id: "g".into(), generation: 3, now: 9, grace: 60, idle: 99 };
        let json = crate::json::encode(&cmd);
        assert!(json.contains(r#""op":"rotate""#), "{json}");
        assert_eq!(crate::json::from_slice::<GrantCommand>(json.as_bytes()).unwrap(), cmd);
        let reply = GrantReply::Rotation { outcome: Rotation::Refused { reason: Refusal::Reused } };
        let json = crate::json::encode(&reply);
        assert_eq!(crate::json::from_slice::<GrantReply>(json.as_bytes()).unwrap(), reply);
        let rec = GrantReply::Record { record: Some(record("g", 1)) };
        assert_eq!(crate::json::from_slice::<GrantReply>(crate::json::encode(&rec).as_bytes()).unwrap(), rec);
    }

    fn device(id: &str, user: &str, requested_at: u64) -> DeviceRecord {
        DeviceRecord {
            id: id.into(),
            user: user.into(),
            client_id: "cli".into(),
            client_name: None,
            scope: None,
            resource: None,
            requested_at,
            ip: None,
            user_agent: None,
            expires_at: requested_at + 600,
            interval: 5,
            last_poll: None,
            state: DeviceState::Pending,
            sealed: None,
            subject: None,
        }
    }

    fn put(t: &mut MemoryTable, d: DeviceRecord) -> GrantReply {
        execute(t, GrantCommand::DevicePut { device: d })
    }

    fn poll(t: &mut MemoryTable, id: &str, now: u64) -> Poll {
        let GrantReply::Poll { outcome } =
            execute(t, GrantCommand::DevicePoll { id: id.into(), client_id: "cli".into(), now })
        else {
            panic!()
        };
        outcome
    }

    #[test]
    fn expired_device_records_are_swept_an_hour_after_expiry() {
        let mut t = MemoryTable::default();
        assert_eq!(put(&mut t, device("d1", "u1", 1000)), GrantReply::Done);
        // Approved and never redeemed: the sealed key must not stay in storage.
        let decided =
            GrantCommand::DeviceDecide { id: "d1".into(), sealed: Some("sealed-key".into()), subject: None, now: 1100 };
        assert!(matches!(execute(&mut t, decided), GrantReply::Device { device: Some(_) }));
        assert_eq!(put(&mut t, device("d2", "u2", 1000)), GrantReply::Done);
        let dead = 1600 + DEVICE_SWEEP_AFTER;
        // Before the margin ends, a late poll still hears expired_token.
        assert_eq!(put(&mut t, device("d3", "u3", dead - 1)), GrantReply::Done);
        assert!(t.doc("d1").is_some() && t.doc("d2").is_some());
        assert_eq!(poll(&mut t, "d2", dead - 1), Poll::Expired);
        // The next device command after it sweeps both, and their indexes.
        assert_eq!(put(&mut t, device("d4", "u4", dead)), GrantReply::Done);
        for key in ["d1", "d2", "user:u1", "user:u2"] {
            assert!(t.doc(key).is_none(), "{key} is still stored");
        }
        assert!(!t.docs.values().any(|v| v.contains("sealed-key")));
        assert_eq!(poll(&mut t, "d2", dead), Poll::Unknown);
        // The live ones and their sweep entries stay; the done entries are gone.
        assert!(t.doc("d3").is_some() && t.doc("d4").is_some() && t.doc("user:u3").is_some());
        assert_eq!(t.doc_keys("sweep:", "sweep;", 100).len(), 2);
    }

    /// Regression: approving a device twice with the same key (a reload of
    /// the "Device connected" page) was refused like any answered request,
    /// and the handler then forgot the grant the first approval had made.
    #[test]
    fn reloading_the_device_approval_deleted_its_grant() {
        let mut t = MemoryTable::default();
        put(&mut t, device("d1", "u1", 1000));
        let decide = |sealed: Option<&str>, subject: Option<&str>| GrantCommand::DeviceDecide {
            id: "d1".into(),
            sealed: sealed.map(Into::into),
            subject: subject.map(Into::into),
            now: 1100,
        };
        let answered = |reply: GrantReply| match reply {
            GrantReply::Device { device } => device.map(|d| (d.state, d.sealed)),
            other => panic!("{other:?}"),
        };
        let first = answered(execute(&mut t, decide(Some("first"), Some("sub-1"))));
        assert_eq!(first, Some((DeviceState::Approved, Some("first".into()))));
        // The same subject again: the approval stands, unchanged.
        let again = answered(execute(&mut t, decide(Some("second"), Some("sub-1"))));
        assert_eq!(again, Some((DeviceState::Approved, Some("first".into()))));
        // Another key, or a denial: the request was answered.
        assert_eq!(answered(execute(&mut t, decide(Some("other"), Some("sub-2")))), None);
        assert_eq!(answered(execute(&mut t, decide(None, None))), None);
        // After the device redeemed it, the same approval still stands.
        assert!(matches!(poll(&mut t, "d1", 1105), Poll::Tokens { .. }));
        let redeemed = answered(execute(&mut t, decide(Some("third"), Some("sub-1"))));
        assert_eq!(redeemed, Some((DeviceState::Redeemed, None)));
        // A passthrough approval (no subject) is answered once only.
        put(&mut t, device("d2", "u2", 1000));
        let pass = |sealed: &str| GrantCommand::DeviceDecide {
            id: "d2".into(),
            sealed: Some(sealed.into()),
            subject: None,
            now: 1100,
        };
        assert!(answered(execute(&mut t, pass("a"))).is_some());
        assert_eq!(answered(execute(&mut t, pass("b"))), None);
    }

    #[test]
    fn an_unreadable_device_record_is_swept_when_its_entry_comes_due() {
        let mut t = MemoryTable::default();
        put(&mut t, device("d1", "u1", 1000));
        t.put_doc("d1", "{\"not\":\"a device record\"}");
        let dead = 1600 + DEVICE_SWEEP_AFTER;
        put(&mut t, device("d2", "u2", dead - 1));
        assert!(t.doc("d1").is_some(), "kept until its entry is due");
        put(&mut t, device("d3", "u3", dead));
        assert!(t.doc("d1").is_none(), "an unreadable record stayed in storage");
        assert!(t.doc_keys("sweep:", "sweep;", 100).iter().all(|k| !k.ends_with(":d1")));
        assert!(t.doc("d2").is_some() && t.doc("d3").is_some());
    }

    #[test]
    fn a_user_code_reused_after_expiry_keeps_its_new_index() {
        let mut t = MemoryTable::default();
        put(&mut t, device("old", "u", 1000));
        // The code is free again after expiry: a new request takes it.
        assert_eq!(put(&mut t, device("new", "u", 1700)), GrantReply::Done);
        put(&mut t, device("other", "v", 1600 + DEVICE_SWEEP_AFTER));
        assert!(t.doc("old").is_none());
        assert_eq!(t.doc("user:u").as_deref(), Some("new"), "the sweep of the old record took the new index");
    }

    #[test]
    fn guess_counters_are_swept_once_their_window_is_over() {
        let mut t = MemoryTable::default();
        let lookup = |now| GrantCommand::DeviceLookup { user: "nope".into(), who: vec!["ip:1".into()], now };
        execute(&mut t, lookup(1000));
        execute(&mut t, lookup(1001));
        assert_eq!(t.doc("guess:ip:1").as_deref(), Some("2 1000"));
        // A later window began before the first one's entry came due: kept.
        execute(&mut t, lookup(1000 + GUESS_WINDOW));
        execute(&mut t, lookup(1000 + GUESS_WINDOW + 1));
        assert!(t.doc("guess:ip:1").is_some());
        // Once that window is over too, the next device command deletes it.
        put(&mut t, device("d", "u", 1000 + 2 * GUESS_WINDOW));
        assert!(t.doc("guess:ip:1").is_none());
        assert!(t.doc_keys("sweep:", "sweep;", 100).iter().all(|k| !k.ends_with("guess:ip:1")));
    }

    #[test]
    fn one_command_sweeps_a_bounded_batch() {
        let mut t = MemoryTable::default();
        for i in 0..20 {
            put(&mut t, device(&format!("d{i:02}"), &format!("u{i:02}"), 1000));
        }
        put(&mut t, device("late", "late", 1600 + DEVICE_SWEEP_AFTER));
        let left = (0..20).filter(|i| t.doc(&format!("d{i:02}")).is_some()).count();
        assert_eq!(left, 20 - SWEEP_BATCH, "oldest first, a batch at a time");
        assert!(t.doc("d00").is_none() && t.doc("d19").is_some());
    }
}
