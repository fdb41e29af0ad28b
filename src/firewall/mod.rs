//! Kernel backends: nftables (fw4) and iptables + ipset (fw3).
