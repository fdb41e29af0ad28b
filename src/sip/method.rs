//! SIP request methods. Method names are case-sensitive (RFC 3261 §7.1), so
//! `register` is not a REGISTER: it is `Method::Other`.

/// A request method; anything unknown is `Other` (its bytes are still
/// available from `Message::method_bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Register,
    Invite,
    Options,
    Ack,
    Cancel,
    Bye,
    Subscribe,
    Notify,
    Message,
    Refer,
    Info,
    Update,
    Prack,
    Publish,
    Other,
}

impl Method {
    /// Recognises a method name (exact case).
    pub fn from_bytes(b: &[u8]) -> Method {
        match b {
            b"REGISTER" => Method::Register,
            b"INVITE" => Method::Invite,
            b"OPTIONS" => Method::Options,
            b"ACK" => Method::Ack,
            b"CANCEL" => Method::Cancel,
            b"BYE" => Method::Bye,
            b"SUBSCRIBE" => Method::Subscribe,
            b"NOTIFY" => Method::Notify,
            b"MESSAGE" => Method::Message,
            b"REFER" => Method::Refer,
            b"INFO" => Method::Info,
            b"UPDATE" => Method::Update,
            b"PRACK" => Method::Prack,
            b"PUBLISH" => Method::Publish,
            _ => Method::Other,
        }
    }

    /// The method name, for logs (`"OTHER"` for unknown methods).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Register => "REGISTER",
            Method::Invite => "INVITE",
            Method::Options => "OPTIONS",
            Method::Ack => "ACK",
            Method::Cancel => "CANCEL",
            Method::Bye => "BYE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Message => "MESSAGE",
            Method::Refer => "REFER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other => "OTHER",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_case_matters() {
        for m in [
            Method::Register,
            Method::Invite,
            Method::Prack,
            Method::Publish,
        ] {
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), m);
        }
        assert_eq!(Method::from_bytes(b"register"), Method::Other);
        assert_eq!(Method::from_bytes(b""), Method::Other);
    }
}
