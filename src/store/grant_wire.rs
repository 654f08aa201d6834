//! The JSON of the grant store: its records ([`GrantRecord`],
//! [`DeviceRecord`]) and the commands and replies a store that talks JSON
//! (the Durable Object and its client) sends. The form is the one the
//! serde derives wrote before the crate had its own JSON layer (enums as
//! objects tagged `op`, `reply` or `result`; a field that is `None` left
//! out), pinned byte for byte by `grant_wire.golden`, so records and
//! commands written by an earlier version still read.

use crate::grants::device::{DeviceRecord, DeviceState, Lookup, Poll};
use crate::grants::ledger::{GrantCommand, GrantMode, GrantRecord, GrantReply, Refusal, Rotation};
use crate::json::{self, Error, Fields, FromJson, Object, ToJson, Value};

fn tagged(tag: &str, name: &str) -> Object {
    Object::from([(tag, Value::from(name))])
}

fn unknown<T>(what: &str, tag: &str) -> Result<T, Error> {
    Err(Error::new(&format!("unknown {what} `{tag}`")))
}

impl ToJson for GrantRecord {
    fn to_json(&self) -> Value {
        let mut o = Object::from([("id", Value::from(&self.id)), ("client_id", Value::from(&self.client_id))]);
        o.insert_some("client_name", self.client_name.as_deref());
        o.insert_some("client_host", self.client_host.as_deref());
        o.insert_some("resource", self.resource.as_deref());
        o.insert_some("scope", self.scope.as_deref());
        o.insert(
            "mode",
            match self.mode {
                GrantMode::Sealed => "sealed",
                GrantMode::Passthrough => "passthrough",
            },
        );
        o.insert("created", self.created);
        o.insert("last_used", self.last_used);
        o.insert("generation", self.generation);
        o.insert("rotated_at", self.rotated_at);
        o.insert("revoked", self.revoked);
        o.into()
    }
}

impl FromJson for GrantRecord {
    fn from_json(value: &Value) -> Result<GrantRecord, Error> {
        let f = Fields::of(value)?;
        Ok(GrantRecord {
            id: f.str("id")?,
            client_id: f.str("client_id")?,
            client_name: f.opt_str("client_name")?,
            client_host: f.opt_str("client_host")?,
            resource: f.opt_str("resource")?,
            scope: f.opt_str("scope")?,
            mode: match f.str("mode")?.as_str() {
                "sealed" => GrantMode::Sealed,
                "passthrough" => GrantMode::Passthrough,
                mode => return unknown("mode", mode),
            },
            created: f.u64("created")?,
            last_used: f.u64("last_used")?,
            generation: f.u64("generation")?,
            rotated_at: f.u64("rotated_at")?,
            revoked: f.bool("revoked")?,
        })
    }
}

impl ToJson for DeviceRecord {
    fn to_json(&self) -> Value {
        let mut o = Object::from([
            ("id", Value::from(&self.id)),
            ("user", Value::from(&self.user)),
            ("client_id", Value::from(&self.client_id)),
        ]);
        o.insert_some("client_name", self.client_name.as_deref());
        o.insert_some("scope", self.scope.as_deref());
        o.insert_some("resource", self.resource.as_deref());
        o.insert("requested_at", self.requested_at);
        o.insert_some("ip", self.ip.as_deref());
        o.insert_some("user_agent", self.user_agent.as_deref());
        o.insert("expires_at", self.expires_at);
        o.insert("interval", self.interval);
        o.insert_some("last_poll", self.last_poll);
        o.insert(
            "state",
            match self.state {
                DeviceState::Pending => "pending",
                DeviceState::Approved => "approved",
                DeviceState::Denied => "denied",
                DeviceState::Redeemed => "redeemed",
            },
        );
        o.insert_some("sealed", self.sealed.as_deref());
        o.insert_some("subject", self.subject.as_deref());
        o.into()
    }
}

impl FromJson for DeviceRecord {
    fn from_json(value: &Value) -> Result<DeviceRecord, Error> {
        let f = Fields::of(value)?;
        Ok(DeviceRecord {
            id: f.str("id")?,
            user: f.str("user")?,
            client_id: f.str("client_id")?,
            client_name: f.opt_str("client_name")?,
            scope: f.opt_str("scope")?,
            resource: f.opt_str("resource")?,
            requested_at: f.u64("requested_at")?,
            ip: f.opt_str("ip")?,
            user_agent: f.opt_str("user_agent")?,
            expires_at: f.u64("expires_at")?,
            interval: f.u64("interval")?,
            last_poll: f.opt_u64("last_poll")?,
            state: match f.str("state")?.as_str() {
                "pending" => DeviceState::Pending,
                "approved" => DeviceState::Approved,
                "denied" => DeviceState::Denied,
                "redeemed" => DeviceState::Redeemed,
                state => return unknown("state", state),
            },
            sealed: f.opt_str("sealed")?,
            subject: f.opt_str("subject")?,
        })
    }
}

impl ToJson for GrantCommand {
    fn to_json(&self) -> Value {
        let op = |name| tagged("op", name);
        let o = match self {
            GrantCommand::Create { record } => {
                let mut o = op("create");
                o.insert("record", record.to_json());
                o
            }
            GrantCommand::Rotate { id, generation, now, grace, idle } => {
                let mut o = op("rotate");
                o.insert("id", id);
                o.insert("generation", *generation);
                o.insert("now", *now);
                o.insert("grace", *grace);
                o.insert("idle", *idle);
                o
            }
            GrantCommand::Get { id } => {
                let mut o = op("get");
                o.insert("id", id);
                o
            }
            GrantCommand::List => op("list"),
            GrantCommand::Revoke { id } => {
                let mut o = op("revoke");
                o.insert_some("id", id.as_deref());
                o
            }
            GrantCommand::Forget { id } => {
                let mut o = op("forget");
                o.insert("id", id);
                o
            }
            GrantCommand::DevicePut { device } => {
                let mut o = op("device_put");
                o.insert("device", device.to_json());
                o
            }
            GrantCommand::DeviceLookup { user, who, now } => {
                let mut o = op("device_lookup");
                o.insert("user", user);
                o.insert("who", who.as_slice());
                o.insert("now", *now);
                o
            }
            GrantCommand::DeviceDecide { id, sealed, subject, now } => {
                let mut o = op("device_decide");
                o.insert("id", id);
                o.insert_some("sealed", sealed.as_deref());
                o.insert_some("subject", subject.as_deref());
                o.insert("now", *now);
                o
            }
            GrantCommand::DevicePoll { id, client_id, now } => {
                let mut o = op("device_poll");
                o.insert("id", id);
                o.insert("client_id", client_id);
                o.insert("now", *now);
                o
            }
        };
        o.into()
    }
}

impl FromJson for GrantCommand {
    fn from_json(value: &Value) -> Result<GrantCommand, Error> {
        let f = Fields::of(value)?;
        Ok(match f.str("op")?.as_str() {
            "create" => GrantCommand::Create { record: f.read("record")? },
            "rotate" => GrantCommand::Rotate {
                id: f.str("id")?,
                generation: f.u64("generation")?,
                now: f.u64("now")?,
                grace: f.u64("grace")?,
                idle: f.u64("idle")?,
            },
            "get" => GrantCommand::Get { id: f.str("id")? },
            "list" => GrantCommand::List,
            "revoke" => GrantCommand::Revoke { id: f.opt_str("id")? },
            "forget" => GrantCommand::Forget { id: f.str("id")? },
            "device_put" => GrantCommand::DevicePut { device: f.read("device")? },
            "device_lookup" => {
                GrantCommand::DeviceLookup { user: f.str("user")?, who: f.read("who")?, now: f.u64("now")? }
            }
            "device_decide" => GrantCommand::DeviceDecide {
                id: f.str("id")?,
                sealed: f.opt_str("sealed")?,
                subject: f.opt_str("subject")?,
                now: f.u64("now")?,
            },
            "device_poll" => {
                GrantCommand::DevicePoll { id: f.str("id")?, client_id: f.str("client_id")?, now: f.u64("now")? }
            }
            op => return unknown("op", op),
        })
    }
}

/// The `reply` tag of a reply (also what a log line names an unexpected
/// reply by: its contents stay out of logs).
pub fn reply_tag(reply: &GrantReply) -> &'static str {
    match reply {
        GrantReply::Done => "done",
        GrantReply::Rotation { .. } => "rotation",
        GrantReply::Record { .. } => "record",
        GrantReply::Records { .. } => "records",
        GrantReply::Revoked { .. } => "revoked",
        GrantReply::Taken => "taken",
        GrantReply::Lookup { .. } => "lookup",
        GrantReply::Device { .. } => "device",
        GrantReply::Poll { .. } => "poll",
    }
}

/// The name of a refused rotation's reason.
pub fn refusal_name(reason: Refusal) -> &'static str {
    match reason {
        Refusal::Unknown => "unknown",
        Refusal::Revoked => "revoked",
        Refusal::Expired => "expired",
        Refusal::Reused => "reused",
    }
}

impl ToJson for GrantReply {
    fn to_json(&self) -> Value {
        let mut o = tagged("reply", reply_tag(self));
        match self {
            GrantReply::Done | GrantReply::Taken => {}
            GrantReply::Rotation { outcome } => o.insert("outcome", rotation_json(outcome)),
            GrantReply::Record { record } => o.insert_some("record", record.as_ref().map(ToJson::to_json)),
            GrantReply::Records { records } => o.insert("records", records.as_slice().to_json()),
            GrantReply::Revoked { count } => o.insert("count", *count),
            GrantReply::Lookup { outcome } => o.insert("outcome", lookup_json(outcome)),
            GrantReply::Device { device } => o.insert_some("device", device.as_ref().map(ToJson::to_json)),
            GrantReply::Poll { outcome } => o.insert("outcome", poll_json(outcome)),
        }
        o.into()
    }
}

fn rotation_json(outcome: &Rotation) -> Value {
    let result = |name| tagged("result", name);
    let mut o;
    match outcome {
        Rotation::Rotated { generation } => {
            o = result("rotated");
            o.insert("generation", *generation);
        }
        Rotation::Replayed { generation } => {
            o = result("replayed");
            o.insert("generation", *generation);
        }
        Rotation::Refused { reason } => {
            o = result("refused");
            o.insert("reason", refusal_name(*reason));
        }
    }
    o.into()
}

fn lookup_json(outcome: &Lookup) -> Value {
    let mut o;
    match outcome {
        Lookup::Found { device } => {
            o = tagged("result", "found");
            o.insert("device", device.to_json());
        }
        Lookup::Wrong => o = tagged("result", "wrong"),
        Lookup::Limited { wait } => {
            o = tagged("result", "limited");
            o.insert("wait", *wait);
        }
    }
    o.into()
}

fn poll_json(outcome: &Poll) -> Value {
    let o = match outcome {
        Poll::Unknown => tagged("result", "unknown"),
        Poll::WrongClient => tagged("result", "wrong_client"),
        Poll::Pending => tagged("result", "pending"),
        Poll::SlowDown { interval } => {
            let mut o = tagged("result", "slow_down");
            o.insert("interval", *interval);
            o
        }
        Poll::Denied => tagged("result", "denied"),
        Poll::Expired => tagged("result", "expired"),
        Poll::Redeemed { subject } => {
            let mut o = tagged("result", "redeemed");
            o.insert_some("subject", subject.as_deref());
            o
        }
        Poll::Tokens { device } => {
            let mut o = tagged("result", "tokens");
            o.insert("device", device.to_json());
            o
        }
    };
    o.into()
}

impl FromJson for GrantReply {
    fn from_json(value: &Value) -> Result<GrantReply, Error> {
        let f = Fields::of(value)?;
        Ok(match f.str("reply")?.as_str() {
            "done" => GrantReply::Done,
            "rotation" => GrantReply::Rotation { outcome: rotation(Fields::of(f.value("outcome")?)?)? },
            "record" => GrantReply::Record { record: f.opt("record")? },
            "records" => GrantReply::Records { records: f.read("records")? },
            "revoked" => {
                let count = f.u64("count")?;
                let count = u32::try_from(count).map_err(|_| Error::new(&format!("count {count} out of range")))?;
                GrantReply::Revoked { count }
            }
            "taken" => GrantReply::Taken,
            "device" => GrantReply::Device { device: f.opt("device")? },
            "lookup" => GrantReply::Lookup { outcome: lookup(Fields::of(f.value("outcome")?)?)? },
            "poll" => GrantReply::Poll { outcome: poll(Fields::of(f.value("outcome")?)?)? },
            reply => return unknown("reply", reply),
        })
    }
}

fn lookup(f: Fields) -> Result<Lookup, Error> {
    Ok(match f.str("result")?.as_str() {
        "found" => Lookup::Found { device: Box::new(f.read("device")?) },
        "wrong" => Lookup::Wrong,
        "limited" => Lookup::Limited { wait: f.u64("wait")? },
        result => return unknown("result", result),
    })
}

fn poll(f: Fields) -> Result<Poll, Error> {
    Ok(match f.str("result")?.as_str() {
        "unknown" => Poll::Unknown,
        "wrong_client" => Poll::WrongClient,
        "pending" => Poll::Pending,
        "slow_down" => Poll::SlowDown { interval: f.u64("interval")? },
        "denied" => Poll::Denied,
        "expired" => Poll::Expired,
        "redeemed" => Poll::Redeemed { subject: f.opt_str("subject")? },
        "tokens" => Poll::Tokens { device: Box::new(f.read("device")?) },
        result => return unknown("result", result),
    })
}

fn rotation(f: Fields) -> Result<Rotation, Error> {
    Ok(match f.str("result")?.as_str() {
        "rotated" => Rotation::Rotated { generation: f.u64("generation")? },
        "replayed" => Rotation::Replayed { generation: f.u64("generation")? },
        "refused" => Rotation::Refused {
            reason: match f.str("reason")?.as_str() {
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

/// A [`GrantCommand`] from its JSON.
pub fn decode_command(text: &str) -> Result<GrantCommand, String> {
    json::from_slice(text.as_bytes()).map_err(|e| e.to_string())
}

/// A [`GrantReply`] from its JSON.
pub fn decode_reply(text: &str) -> Result<GrantReply, String> {
    json::from_slice(text.as_bytes()).map_err(|e| e.to_string())
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
            GrantCommand::DeviceDecide { id: "dev:a".into(), sealed: Some("s".into()), subject: None, now: 5 },
            GrantCommand::DeviceDecide { id: "dev:a".into(), sealed: None, subject: None, now: 5 },
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
            subject: None,
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
            Poll::Redeemed { subject: None },
            Poll::Tokens { device: Box::new(device(true)) },
        ] {
            replies.push(GrantReply::Poll { outcome });
        }
        for reason in [Refusal::Unknown, Refusal::Revoked, Refusal::Expired, Refusal::Reused] {
            replies.push(GrantReply::Rotation { outcome: Rotation::Refused { reason } });
        }
        replies
    }

    /// What the serde derives wrote, one command or reply per line, in the
    /// order of `commands()` then `replies()`.
    const GOLDEN: &str = include_str!("grant_wire.golden");

    #[test]
    fn every_command_and_reply_is_written_as_the_serde_derive_wrote_it_and_reads_back() {
        let golden: Vec<&str> = GOLDEN.lines().collect();
        let commands = commands();
        let replies = replies();
        assert_eq!(golden.len(), commands.len() + replies.len());
        for (command, line) in commands.into_iter().zip(&golden) {
            assert_eq!(json::encode(&command), *line);
            assert_eq!(decode_command(line), Ok(command), "{line}");
        }
        let first_reply = golden.len() - replies.len();
        for (reply, line) in replies.into_iter().zip(&golden[first_reply..]) {
            assert_eq!(json::encode(&reply), *line);
            assert_eq!(decode_reply(line), Ok(reply), "{line}");
        }
    }

    #[test]
    fn what_the_serde_derive_refused_is_refused() {
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
            assert!(decode_command(json).is_err(), "accepted {json}");
        }
        for json in ["{}", r#"{"reply":"rotation"}"#, r#"{"reply":"rotation","outcome":{"result":"rotated"}}"#] {
            assert!(decode_reply(json).is_err(), "accepted {json}");
        }
        // Unknown fields are ignored, as by the serde derive.
        let json = r#"{"op":"list","extra":1}"#;
        assert_eq!(decode_command(json), Ok(GrantCommand::List));
    }
}
