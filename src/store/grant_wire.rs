//! Reading [`GrantCommand`] and [`GrantReply`] from their JSON (the serde
//! form defined in [`crate::grants::ledger`], which writes them) without
//! serde's internally tagged enum machinery: what a grant store that talks
//! JSON (the Durable Object and its client) reads.
//!
//! Why: `#[serde(tag = "...")]` deserializes through serde's buffered
//! `Content` tree, which cost the Worker's WASM about 35 KB (before
//! wasm-opt) for these two types, and derived enums of tags a few KB more.
//! Here both are read as one plain struct of optional fields with their
//! tags as strings, with `serde_json::from_slice` (the parser the rest of
//! the crate already uses), and built by hand; the tests check that every
//! variant reads back as the derive writes it, and that what the derive
//! refuses is refused.

use serde::Deserialize;

use crate::grants::device::{DeviceRecord, Lookup, Poll};
use crate::grants::ledger::{GrantCommand, GrantRecord, GrantReply, Refusal, Rotation};

/// Every field of every command, reply and rotation outcome, tags as
/// plain strings: one struct (and so one instance of serde_json's struct
/// reader) for all of them; a rotation's `outcome` is one more of these.
#[derive(Deserialize)]
struct Fields {
    op: Option<String>,
    reply: Option<String>,
    result: Option<String>,
    record: Option<GrantRecord>,
    records: Option<Vec<GrantRecord>>,
    id: Option<String>,
    generation: Option<u64>,
    now: Option<u64>,
    grace: Option<u64>,
    idle: Option<u64>,
    outcome: Option<Box<Fields>>,
    reason: Option<String>,
    count: Option<u64>,
    device: Option<DeviceRecord>,
    user: Option<String>,
    who: Option<Vec<String>>,
    sealed: Option<String>,
    client_id: Option<String>,
    interval: Option<u64>,
    wait: Option<u64>,
}

fn fields(json: &str) -> Result<Fields, String> {
    serde_json::from_slice(json.as_bytes()).map_err(|e| e.to_string())
}

fn need<T>(value: Option<T>, name: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{name}`"))
}

fn unknown<T>(what: &str, tag: &str) -> Result<T, String> {
    Err(format!("unknown {what} `{tag}`"))
}

/// A [`GrantCommand`] from its JSON.
pub fn decode_command(json: &str) -> Result<GrantCommand, String> {
    let f = fields(json)?;
    Ok(match need(f.op, "op")?.as_str() {
        "create" => GrantCommand::Create { record: need(f.record, "record")? },
        "rotate" => GrantCommand::Rotate {
            id: need(f.id, "id")?,
            generation: need(f.generation, "generation")?,
            now: need(f.now, "now")?,
            grace: need(f.grace, "grace")?,
            idle: need(f.idle, "idle")?,
        },
        "get" => GrantCommand::Get { id: need(f.id, "id")? },
        "list" => GrantCommand::List,
        "revoke" => GrantCommand::Revoke { id: f.id },
        "forget" => GrantCommand::Forget { id: need(f.id, "id")? },
        "device_put" => GrantCommand::DevicePut { device: need(f.device, "device")? },
        "device_lookup" => GrantCommand::DeviceLookup {
            user: need(f.user, "user")?,
            who: need(f.who, "who")?,
            now: need(f.now, "now")?,
        },
        "device_decide" => {
            GrantCommand::DeviceDecide { id: need(f.id, "id")?, sealed: f.sealed, now: need(f.now, "now")? }
        }
        "device_poll" => GrantCommand::DevicePoll {
            id: need(f.id, "id")?,
            client_id: need(f.client_id, "client_id")?,
            now: need(f.now, "now")?,
        },
        op => return unknown("op", op),
    })
}

/// A [`GrantReply`] from its JSON.
pub fn decode_reply(json: &str) -> Result<GrantReply, String> {
    let f = fields(json)?;
    Ok(match need(f.reply, "reply")?.as_str() {
        "done" => GrantReply::Done,
        "rotation" => GrantReply::Rotation { outcome: rotation(*need(f.outcome, "outcome")?)? },
        "record" => GrantReply::Record { record: f.record },
        "records" => GrantReply::Records { records: need(f.records, "records")? },
        "revoked" => {
            let count = need(f.count, "count")?;
            GrantReply::Revoked { count: u32::try_from(count).map_err(|_| format!("count {count} out of range"))? }
        }
        "taken" => GrantReply::Taken,
        "device" => GrantReply::Device { device: f.device },
        "lookup" => GrantReply::Lookup { outcome: lookup(*need(f.outcome, "outcome")?)? },
        "poll" => GrantReply::Poll { outcome: poll(*need(f.outcome, "outcome")?)? },
        reply => return unknown("reply", reply),
    })
}

fn lookup(f: Fields) -> Result<Lookup, String> {
    Ok(match need(f.result, "result")?.as_str() {
        "found" => Lookup::Found { device: Box::new(need(f.device, "device")?) },
        "wrong" => Lookup::Wrong,
        "limited" => Lookup::Limited { wait: need(f.wait, "wait")? },
        result => return unknown("result", result),
    })
}

fn poll(f: Fields) -> Result<Poll, String> {
    Ok(match need(f.result, "result")?.as_str() {
        "unknown" => Poll::Unknown,
        "wrong_client" => Poll::WrongClient,
        "pending" => Poll::Pending,
        "slow_down" => Poll::SlowDown { interval: need(f.interval, "interval")? },
        "denied" => Poll::Denied,
        "expired" => Poll::Expired,
        "redeemed" => Poll::Redeemed,
        "tokens" => Poll::Tokens { device: Box::new(need(f.device, "device")?) },
        result => return unknown("result", result),
    })
}

fn rotation(f: Fields) -> Result<Rotation, String> {
    Ok(match need(f.result, "result")?.as_str() {
        "rotated" => Rotation::Rotated { generation: need(f.generation, "generation")? },
        "replayed" => Rotation::Replayed { generation: need(f.generation, "generation")? },
        "refused" => Rotation::Refused {
            reason: match need(f.reason, "reason")?.as_str() {
                "unknown" => Refusal::Unknown,
                "revoked" => Refusal::Revoked,
                "expired" => Refusal::Expired,
                "reused" => Refusal::Reused,
                reason => return unknown("reason", reason),
            },
        },
        result => return unknown("result", result),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::ledger::GrantMode;

    fn record(id: &str, full: bool) -> GrantRecord {
        GrantRecord {
            id: id.into(),
            client_id: "client".into(),
            client_name: full.then(|| "Name \"quoted\" é".into()),
            client_host: full.then(|| "app.example".into()),
            resource: full.then(|| "https://mcp.example/mcp".into()),
            scope: full.then(|| "api".into()),
            mode: if full { GrantMode::Sealed } else { GrantMode::Passthrough },
            created: 1_700_000_000,
            last_used: 1_700_000_100,
            generation: 3,
            rotated_at: 1_700_000_050,
            revoked: full,
        }
    }

    fn commands() -> Vec<GrantCommand> {
        vec![
            GrantCommand::Create { record: record("a", true) },
            GrantCommand::Create { record: record("b", false) },
            GrantCommand::Rotate { id: "a".into(), generation: 0, now: 9, grace: 60, idle: u64::MAX >> 11 },
            GrantCommand::Get { id: "a".into() },
            GrantCommand::List,
            GrantCommand::Revoke { id: Some("a".into()) },
            GrantCommand::Revoke { id: None },
            GrantCommand::Forget { id: "a".into() },
            GrantCommand::DevicePut { device: device(true) },
            GrantCommand::DevicePut { device: device(false) },
            GrantCommand::DeviceLookup { user: "u".into(), who: vec!["ip:1".into(), "browser:b".into()], now: 5 },
            GrantCommand::DeviceDecide { id: "dev:a".into(), sealed: Some("s".into()), now: 5 },
            GrantCommand::DeviceDecide { id: "dev:a".into(), sealed: None, now: 5 },
            GrantCommand::DevicePoll { id: "dev:a".into(), client_id: "c".into(), now: 5 },
        ]
    }

    fn device(full: bool) -> DeviceRecord {
        use crate::grants::device::DeviceState;
        DeviceRecord {
            id: "dev:a".into(),
            user: "u".into(),
            client_id: "c".into(),
            client_name: full.then(|| "CLI \"x\"".into()),
            scope: full.then(|| "api".into()),
            resource: full.then(|| "https://mcp.example/mcp".into()),
            requested_at: 1,
            ip: full.then(|| "203.0.113.9".into()),
            user_agent: full.then(|| "curl/8".into()),
            expires_at: 601,
            interval: 5,
            last_poll: full.then_some(3),
            state: if full { DeviceState::Approved } else { DeviceState::Pending },
            sealed: full.then(|| "sealed".into()),
        }
    }

    fn replies() -> Vec<GrantReply> {
        let mut replies = vec![
            GrantReply::Done,
            GrantReply::Rotation { outcome: Rotation::Rotated { generation: 1 } },
            GrantReply::Rotation { outcome: Rotation::Replayed { generation: 7 } },
            GrantReply::Record { record: Some(record("a", true)) },
            GrantReply::Record { record: None },
            GrantReply::Records { records: vec![] },
            GrantReply::Records { records: vec![record("a", true), record("b", false)] },
            GrantReply::Revoked { count: 2 },
        ];
        replies.extend([
            GrantReply::Taken,
            GrantReply::Device { device: None },
            GrantReply::Device { device: Some(device(true)) },
            GrantReply::Lookup { outcome: Lookup::Found { device: Box::new(device(false)) } },
            GrantReply::Lookup { outcome: Lookup::Wrong },
            GrantReply::Lookup { outcome: Lookup::Limited { wait: 42 } },
        ]);
        for outcome in [
            Poll::Unknown,
            Poll::WrongClient,
            Poll::Pending,
            Poll::SlowDown { interval: 10 },
            Poll::Denied,
            Poll::Expired,
            Poll::Redeemed,
            Poll::Tokens { device: Box::new(device(true)) },
        ] {
            replies.push(GrantReply::Poll { outcome });
        }
        for reason in [Refusal::Unknown, Refusal::Revoked, Refusal::Expired, Refusal::Reused] {
            replies.push(GrantReply::Rotation { outcome: Rotation::Refused { reason } });
        }
        replies
    }

    #[test]
    fn every_command_reads_back_as_the_derive_writes_it() {
        for command in commands() {
            let json = serde_json::to_string(&command).unwrap();
            assert_eq!(decode_command(&json), Ok(command), "{json}");
        }
    }

    #[test]
    fn every_reply_reads_back_as_the_derive_writes_it() {
        for reply in replies() {
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(decode_reply(&json), Ok(reply), "{json}");
        }
    }

    #[test]
    fn what_the_derive_refuses_is_refused() {
        let bad = [
            "",
            "null",
            "[]",
            "{}",
            r#"{"op":"nope"}"#,
            r#"{"op":"get"}"#,
            r#"{"op":"create"}"#,
            r#"{"op":"create","record":{"id":"x"}}"#,
            r#"{"op":"rotate","id":"g","generation":0,"now":1,"grace":1}"#,
            r#"{"op":"rotate","id":"g","generation":-1,"now":1,"grace":1,"idle":1}"#,
            r#"{"op":"forget","id":5}"#,
            r#"{"op":"list""#,
        ];
        for json in bad {
            assert!(serde_json::from_str::<GrantCommand>(json).is_err(), "the derive accepts {json}");
            assert!(decode_command(json).is_err(), "accepted {json}");
        }
        for json in ["{}", r#"{"reply":"rotation"}"#, r#"{"reply":"rotation","outcome":{"result":"rotated"}}"#] {
            assert!(serde_json::from_str::<GrantReply>(json).is_err(), "the derive accepts {json}");
            assert!(decode_reply(json).is_err(), "accepted {json}");
        }
        // Unknown fields are ignored, as by the derive.
        let json = r#"{"op":"list","extra":1}"#;
        assert_eq!(decode_command(json), Ok(GrantCommand::List));
        assert_eq!(serde_json::from_str::<GrantCommand>(json).unwrap(), GrantCommand::List);
    }
}
