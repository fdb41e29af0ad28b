//! Country zones: download, parse, aggregate, store, load into kernel sets.
