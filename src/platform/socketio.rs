//! Engine.IO v4 and Socket.IO v5 framing over WebSocket, as pure functions of text, checked
//! against the frames captured from Flask-SocketIO 5.7 (docs/WIRE.md).
//! One Engine.IO packet per WebSocket frame: `0` open, `1` close, `2` ping, `3` pong,
//! `4` message (a Socket.IO packet), `5` upgrade, `6` noop. A Socket.IO packet is
//! `<type>[<#attachments>-][<namespace>,][<ack id>][JSON]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub sid: String,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_payload: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Eio {
    Open(Open),
    Close,
    Ping(String),
    Pong(String),
    Message(String),
    Upgrade,
    Noop,
}

/// Why a frame is not read: which part of Engine.IO's or Socket.IO's framing it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("bad open packet: {0}")]
    BadOpen(String),
    #[error("open packet has no sid")]
    NoSid,
    /// The type character, cleaned.
    #[error("unknown Engine.IO packet type `{0}`")]
    UnknownEngineIo(String),
    #[error("empty Socket.IO packet")]
    EmptyPacket,
    /// The packet's start, cleaned.
    #[error("unknown Socket.IO packet type in `{0}`")]
    UnknownSocketIo(String),
    #[error("binary packet without an attachment count")]
    NoAttachmentCount,
    #[error("bad attachment count")]
    BadAttachmentCount,
    #[error("ack id too large")]
    AckIdTooLarge,
    #[error("bad JSON in Socket.IO packet: {0}")]
    BadJson(String),
}

pub fn parse_eio(frame: &str) -> Result<Eio, FrameError> {
    let mut chars = frame.chars();
    let kind = chars.next().ok_or(FrameError::Empty)?;
    let rest = chars.as_str();
    Ok(match kind {
        '0' => {
            let v: Value =
                serde_json::from_str(rest).map_err(|e| FrameError::BadOpen(e.to_string()))?;
            let n = |k: &str, default: u64| v.get(k).and_then(Value::as_u64).unwrap_or(default);
            Eio::Open(Open {
                sid: v
                    .get("sid")
                    .and_then(Value::as_str)
                    .ok_or(FrameError::NoSid)?
                    .to_string(),
                ping_interval_ms: n("pingInterval", 25_000),
                ping_timeout_ms: n("pingTimeout", 20_000),
                max_payload: n("maxPayload", 1_000_000),
            })
        }
        '1' => Eio::Close,
        '2' => Eio::Ping(rest.to_string()),
        '3' => Eio::Pong(rest.to_string()),
        '4' => Eio::Message(rest.to_string()),
        '5' => Eio::Upgrade,
        '6' => Eio::Noop,
        other => {
            return Err(FrameError::UnknownEngineIo(crate::sanitize::clean(
                &other.to_string(),
                4,
            )));
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: Kind,
    pub attachments: usize,
    /// `/` when the packet names none.
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
}

pub fn parse_sio(text: &str) -> Result<Packet, FrameError> {
    let bytes = text.as_bytes();
    let kind = match bytes.first() {
        Some(b'0') => Kind::Connect,
        Some(b'1') => Kind::Disconnect,
        Some(b'2') => Kind::Event,
        Some(b'3') => Kind::Ack,
        Some(b'4') => Kind::ConnectError,
        Some(b'5') => Kind::BinaryEvent,
        Some(b'6') => Kind::BinaryAck,
        Some(_) => {
            return Err(FrameError::UnknownSocketIo(crate::sanitize::clean(
                text, 40,
            )));
        }
        None => return Err(FrameError::EmptyPacket),
    };
    let mut i = 1;
    let mut attachments = 0;
    if matches!(kind, Kind::BinaryEvent | Kind::BinaryAck) {
        let dash = text[i..].find('-').ok_or(FrameError::NoAttachmentCount)?;
        attachments = text[i..i + dash]
            .parse()
            .map_err(|_| FrameError::BadAttachmentCount)?;
        i += dash + 1;
    }
    let mut nsp = "/".to_string();
    if bytes.get(i) == Some(&b'/') {
        let end = text[i..].find(',').map_or(text.len(), |c| i + c);
        nsp = text[i..end].to_string();
        i = (end + 1).min(text.len());
    }
    let digits = text[i..].bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        Some(
            text[i..i + digits]
                .parse()
                .map_err(|_| FrameError::AckIdTooLarge)?,
        )
    } else {
        None
    };
    i += digits;
    let data = if i < text.len() {
        Some(serde_json::from_str(&text[i..]).map_err(|e| FrameError::BadJson(e.to_string()))?)
    } else {
        None
    };
    Ok(Packet {
        kind,
        attachments,
        nsp,
        id,
        data,
    })
}

/// A Socket.IO packet inside an Engine.IO message frame (`4…`).
pub fn encode(kind: Kind, nsp: &str, id: Option<u64>, data: Option<&Value>) -> String {
    let k = match kind {
        Kind::Connect => '0',
        Kind::Disconnect => '1',
        Kind::Event => '2',
        Kind::Ack => '3',
        Kind::ConnectError => '4',
        Kind::BinaryEvent => '5',
        Kind::BinaryAck => '6',
    };
    let mut out = format!("4{k}");
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
    if let Some(d) = data {
        out.push_str(&d.to_string());
    }
    out
}

/// The message of a CONNECT_ERROR, in either of its shapes: `{"message": …}` or a bare string.
pub fn connect_error(data: Option<&Value>) -> String {
    match data {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        None => "refused".into(),
    }
}

/// Puts binary attachments where their placeholders stand, as short descriptions: the
/// control room shows binary, it does not interpret it.
pub fn fill_placeholders(v: &mut Value, attachments: &[Vec<u8>]) {
    match v {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = map.get("num").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
            *v = Value::String(match attachments.get(num) {
                Some(b) => {
                    let head: String = b.iter().take(8).map(|x| format!("{x:02x}")).collect();
                    format!(
                        "<{} bytes: {head}{}>",
                        b.len(),
                        if b.len() > 8 { "…" } else { "" }
                    )
                }
                None => "<missing attachment>".into(),
            });
        }
        Value::Object(map) => map
            .values_mut()
            .for_each(|x| fill_placeholders(x, attachments)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|x| fill_placeholders(x, attachments)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn open_packet() {
        let open = parse_eio(r#"0{"sid":"abc","upgrades":[],"pingTimeout":20000,"pingInterval":25000,"maxPayload":1000000}"#).unwrap();
        assert_eq!(
            open,
            Eio::Open(Open {
                sid: "abc".into(),
                ping_interval_ms: 25_000,
                ping_timeout_ms: 20_000,
                max_payload: 1_000_000
            })
        );
        assert_eq!(parse_eio("2").unwrap(), Eio::Ping(String::new()));
        assert_eq!(parse_eio("1").unwrap(), Eio::Close);
        assert!(
            parse_eio("9x")
                .unwrap_err()
                .to_string()
                .contains("unknown Engine.IO packet type")
        );
        assert!(parse_eio("0{}").is_err(), "an open packet without sid");
    }

    #[test]
    fn captured_socketio_frames() {
        let p = parse_sio(r#"0{"sid":"x"}"#).unwrap();
        assert_eq!(
            (p.kind, p.nsp.as_str(), p.data),
            (Kind::Connect, "/", Some(json!({"sid": "x"})))
        );
        let p = parse_sio(r#"4/dash,{"message":"unauthorized","data":{"code":401}}"#).unwrap();
        assert_eq!((p.kind, p.nsp.as_str()), (Kind::ConnectError, "/dash"));
        assert_eq!(connect_error(p.data.as_ref()), "unauthorized");
        let p = parse_sio(r#"4/nope,"Unable to connect""#).unwrap();
        assert_eq!(
            connect_error(p.data.as_ref()),
            "Unable to connect",
            "the bare-string shape"
        );
        let p = parse_sio(r#"4/deny,{"message":"Connection rejected by server"}"#).unwrap();
        assert_eq!(
            connect_error(p.data.as_ref()),
            "Connection rejected by server"
        );
        let p = parse_sio(r#"2["tick",{"n":8}]"#).unwrap();
        assert_eq!(
            (p.kind, p.nsp.as_str(), p.id, p.data),
            (Kind::Event, "/", None, Some(json!(["tick", {"n": 8}])))
        );
        let p = parse_sio(r#"2/dash,["tick",{"n":8}]"#).unwrap();
        assert_eq!(p.nsp, "/dash");
        let p = parse_sio(r#"31[{"ok":true,"echo":{"x":1}}]"#).unwrap();
        assert_eq!((p.kind, p.id), (Kind::Ack, Some(1)));
        let p = parse_sio(r#"2/dash,1["question",{"q":42}]"#).unwrap();
        assert_eq!((p.nsp.as_str(), p.id), ("/dash", Some(1)));
        let p = parse_sio("1/dash,").unwrap();
        assert_eq!(
            (p.kind, p.nsp.as_str(), p.data),
            (Kind::Disconnect, "/dash", None)
        );
        let p = parse_sio(r#"51-9["bin",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.id),
            (Kind::BinaryEvent, 1, Some(9))
        );
    }

    #[test]
    fn encodes_what_the_server_expects() {
        assert_eq!(encode(Kind::Connect, "/", None, None), "40");
        assert_eq!(
            encode(Kind::Connect, "/", None, Some(&json!({"token": "abc"}))),
            r#"40{"token":"abc"}"#
        );
        assert_eq!(
            encode(
                Kind::Connect,
                "/dash",
                None,
                Some(&json!({"token": "wrong"}))
            ),
            r#"40/dash,{"token":"wrong"}"#
        );
        assert_eq!(
            encode(Kind::Event, "/", Some(1), Some(&json!(["cmd", {"x": 1}]))),
            r#"421["cmd",{"x":1}]"#
        );
        assert_eq!(
            encode(Kind::Ack, "/dash", Some(1), Some(&json!(["thanks"]))),
            r#"43/dash,1["thanks"]"#
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "9",
            "5",
            "5x-",
            "2/dash",
            "2[",
            "2/dash,99999999999999999999999[]",
            "\u{1b}[2J",
        ] {
            let _ = parse_sio(bad);
        }
        assert!(parse_sio("2[").is_err());
        assert!(
            parse_sio("9[]")
                .unwrap_err()
                .to_string()
                .contains("unknown Socket.IO packet type")
        );
    }

    #[test]
    fn binary_attachments_fill_their_placeholders() {
        let mut v = json!(["bin", {"blob": {"_placeholder": true, "num": 0}, "n": 1}]);
        fill_placeholders(&mut v, &[vec![0xde, 0xad, 0xbe, 0xef]]);
        assert_eq!(v, json!(["bin", {"blob": "<4 bytes: deadbeef>", "n": 1}]));
    }
}
