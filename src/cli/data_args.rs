//! `--data-<workload>`: one option per workload that reads real data, taken from the workload
//! registry, so a new workload's option appears without a change here.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::workload::{self, DataFlag};

/// The real data given on the command line: (workload, option without dashes, path).
#[derive(Debug, Clone, Default)]
pub struct DataArgs(pub Vec<(&'static str, &'static str, PathBuf)>);

/// Each workload's data option once, in registry order.
fn flags() -> Vec<(&'static str, DataFlag)> {
    let mut flags: Vec<(&str, DataFlag)> = Vec::new();
    for info in workload::all_info() {
        if let Some(f) = info.data_flag
            && !flags.iter().any(|(_, g)| g.long == f.long)
        {
            flags.push((info.name, f));
        }
    }
    flags
}

impl FromArgMatches for DataArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for (w, f) in flags() {
            if let Some(path) = m.get_one::<PathBuf>(f.long) {
                self.0.retain(|(_, long, _)| *long != f.long);
                self.0.push((w, f.long, path.clone()));
            }
        }
        Ok(())
    }
}

impl Args for DataArgs {
    fn augment_args(cmd: Command) -> Command {
        flags().into_iter().fold(cmd, |cmd, (_, f)| {
            cmd.arg(
                Arg::new(f.long)
                    .long(f.long)
                    .value_name(f.value_name)
                    .help(f.help)
                    .value_parser(clap::value_parser!(PathBuf)),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
