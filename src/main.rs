//! The `sipwall` binary: everything lives in the library; this only hands
//! the command line over and turns an error into an exit code.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(sipwall::cli::main(args));
}
