//! `hopper-bench`: drives running Hopper API nodes and workers over GSvar's protocol and measures them.
//! The logic is in the library; see `hopper_bench::run`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = hopper_bench::Settings::from_args(std::env::args_os());
    match hopper_bench::run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hopper-bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
