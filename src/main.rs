//! twoears: parse the command line, run it, print one error chain, exit by outcome.

use clap::Parser;

fn main() {
    // The sentence encoder (candle) reads this on every matmul. One core is enough for a
    // sentence in ~15 ms, and whisper spin-waits on the others: never let them compete.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let cli = twoears::cli::Cli::parse();
    twoears::panic::install_hook();
    // A panic the stages did not catch is a bug: one line, the same exit as any error.
    match twoears::panic::catch(|| twoears::commands::run(cli)) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            // Errors name the user's files, and a file name may hold terminal escapes.
            eprintln!("twoears: {}", twoears::term::escape(&format!("{err:#}")));
            // Some calls of a batch failed, the others were reviewed: 1; nothing done: 2.
            let partial = err.is::<twoears::commands::SomeFailed>();
            std::process::exit(if partial { 1 } else { 2 });
        }
        Err(panic) => {
            let panic = twoears::term::escape(&panic);
            eprintln!("twoears: internal error: {panic}; please report it");
            std::process::exit(2);
        }
    }
}
