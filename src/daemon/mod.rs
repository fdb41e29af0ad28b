//! The running agent: NFQUEUE loop, control socket, persistence.
