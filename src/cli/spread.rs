//! `run`'s options for data-parallel training: devices per node, weak or strong scaling, and
//! the nodes of a multi-node run.

use std::net::{ToSocketAddrs, UdpSocket};
use std::time::Duration;

use anyhow::Result;

use crate::error::input;
use crate::train::{Cluster, Spread, port_of};

#[derive(Debug, clap::Args)]
pub struct SpreadArgs {
    /// Devices to train on, comma-separated: counts or `all`; each value is its own run, one
    /// replica per device, gradients all-reduced by burn's collective. The cpu backend's
    /// replicas share its cores [default: 1, and all where a backend sees several]
    #[arg(long, value_delimiter = ',', value_parser = devices)]
    pub devices: Vec<Devices>,
    /// --batch-size is the global batch, split over the replicas (strong scaling), instead of
    /// each device's (weak scaling: the global batch grows with the replicas, as in Horovod).
    #[arg(long)]
    pub global_batch: bool,
    /// Machines training one run together; start `gpubench run` on each with the same
    /// options and run id and its own --node-rank.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub nodes: u32,
    /// This machine's place among --nodes; rank 0 hosts the coordinator and writes the row.
    #[arg(long, default_value_t = 0)]
    pub node_rank: u32,
    /// Where the nodes meet: rank 0's address and a free port, e.g. 10.0.0.5:29500.
    #[arg(long, value_name = "HOST:PORT")]
    pub coordinator: Option<String>,
    /// Where the other nodes reach this one's tensor data [default: this machine's address
    /// toward the coordinator, port = the coordinator's + 1 + rank]
    #[arg(long, value_name = "HOST:PORT")]
    pub node_address: Option<String>,
    /// The run id every row of this run gets (a multi-node run's nodes must share one)
    /// [default: the start time and a random suffix]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Seconds a replica may go without answering before its run fails: how long a node
    /// waits for another that died or cannot be reached.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub peer_timeout: u64,
}

/// One value of `--devices`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Devices {
    Count(usize),
    All,
}

fn devices(s: &str) -> Result<Devices, String> {
    match s {
        "all" => Ok(Devices::All),
        _ => match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Devices::Count(n)),
            _ => Err(format!(
                "{s:?} is neither a device count (1, 2, ...) nor `all`"
            )),
        },
    }
}

impl SpreadArgs {
    /// The device counts to run for a backend whose probe counted `seen` devices, each once.
    pub fn counts(&self, seen: usize) -> Vec<usize> {
        let asked = match (&self.devices[..], self.nodes) {
            ([], 1) => vec![Devices::Count(1), Devices::All],
            ([], _) => vec![Devices::All],
            (d, _) => d.to_vec(),
        };
        let mut counts = Vec::new();
        for d in asked {
            let n = match d {
                Devices::Count(n) => n,
                Devices::All => seen.max(1),
            };
            if !counts.contains(&n) {
                counts.push(n);
            }
        }
        counts
    }

    /// What a multi-node run needs, checked before anything runs; `runs` is how many runs
    /// the rest of the command line plans (a multi-node run is one run).
    pub fn check(&self, runs: usize) -> Result<()> {
        if self.nodes == 1 {
            return Ok(());
        }
        let n = self.nodes;
        if self.node_rank >= n {
            return input(format!(
                "--node-rank {} with --nodes {n}: ranks are 0 to {}",
                self.node_rank,
                n - 1
            ));
        }
        let Some(c) = &self.coordinator else {
            return input(format!(
                "--nodes {n} needs --coordinator HOST:PORT, rank 0's address and a free port"
            ));
        };
        if let Err(e) = port_of(c) {
            return input(format!("--coordinator: {e}"));
        }
        if self.run_id.is_none() {
            return input(format!(
                "--nodes {n} needs --run-id ID, the same on every node, so that their rows \
                 are one run's"
            ));
        }
        if runs != 1 || self.devices.len() > 1 {
            return input(format!(
                "--nodes {n} trains one run: name one --workload, one --backend, one \
                 --batch-size and at most one --devices value, without --repeats \
                 ({runs} runs planned)"
            ));
        }
        Ok(())
    }

    /// How a run on `devices` devices of this node is spread.
    pub fn spread(&self, devices: usize) -> Result<Spread> {
        let cluster = match &self.coordinator {
            Some(coordinator) if self.nodes > 1 => Some(Cluster {
                coordinator: coordinator.clone(),
                node_address: match &self.node_address {
                    Some(a) => a.clone(),
                    None => self.default_node_address(coordinator)?,
                },
            }),
            _ => None,
        };
        Ok(Spread {
            devices,
            nodes: self.nodes as usize,
            rank: self.node_rank as usize,
            cluster,
            peer_timeout: Duration::from_secs(self.peer_timeout),
        })
    }

    /// This machine's address toward the coordinator (the interface a UDP socket would send
    /// from; nothing is sent), and a port after the coordinator's, one per rank.
    fn default_node_address(&self, coordinator: &str) -> Result<String> {
        let port = port_of(coordinator)? as u32 + 1 + self.node_rank;
        let Ok(port) = u16::try_from(port) else {
            return input(format!(
                "--coordinator {coordinator}: no port left for this rank"
            ));
        };
        let target = coordinator
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next());
        let Some(target) = target else {
            return input(format!("--coordinator {coordinator}: cannot resolve it"));
        };
        let socket = UdpSocket::bind(("0.0.0.0", 0))?;
        socket.connect(target)?;
        Ok(format!("{}:{port}", socket.local_addr()?.ip()))
    }

    /// Images per replica for `--batch-size b` over `replicas`, or why it cannot be split.
    pub fn per_replica(&self, b: usize, replicas: usize) -> Result<usize, String> {
        if !self.global_batch {
            return Ok(b);
        }
        if !b.is_multiple_of(replicas) {
            return Err(format!(
                "--global-batch {b} does not split evenly over {replicas} replicas"
            ));
        }
        Ok(b / replicas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(devices: &[Devices], nodes: u32) -> SpreadArgs {
        SpreadArgs {
            devices: devices.to_vec(),
            global_batch: false,
            nodes,
            node_rank: 1,
            coordinator: Some("127.0.0.1:29500".into()),
            node_address: None,
            run_id: Some("r".into()),
            peer_timeout: 5,
        }
    }

    #[test]
    fn device_lists_resolve_against_what_the_backend_sees() {
        use Devices::{All, Count};
        assert_eq!(args(&[], 1).counts(1), [1]);
        assert_eq!(args(&[], 1).counts(8), [1, 8]);
        assert_eq!(args(&[], 2).counts(8), [8]);
        assert_eq!(args(&[Count(2), All, Count(4)], 1).counts(4), [2, 4]);
        assert_eq!(
            devices("0"),
            Err("\"0\" is neither a device count (1, 2, ...) nor `all`".into())
        );
        assert_eq!(devices("all"), Ok(All));
    }

    #[test]
    fn a_multi_node_run_is_one_run_with_an_address_for_each_node() {
        let a = args(&[], 2);
        a.check(1).unwrap();
        assert!(
            a.check(2)
                .unwrap_err()
                .to_string()
                .contains("2 runs planned")
        );
        let s = a.spread(1).unwrap();
        let c = s.cluster.unwrap();
        assert_eq!(c.node_address, "127.0.0.1:29502");
        assert_eq!((s.nodes, s.rank), (2, 1));
        let strong = SpreadArgs {
            global_batch: true,
            ..args(&[], 1)
        };
        assert_eq!(strong.per_replica(32, 2), Ok(16));
        assert!(strong.per_replica(32, 3).is_err());
        assert_eq!(args(&[], 1).per_replica(32, 3), Ok(32));
    }
}
