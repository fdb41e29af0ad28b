//! Zero-copy SIP reader (filled in by the core issue).
