//! What a job spreads over: replicas on the devices of this node, and the nodes of a
//! multi-node run, joined by burn's collective (its global orchestrator across nodes).

use std::time::Duration;

use anyhow::{Result, anyhow};
use burn::collective::{AllReduceStrategy, CollectiveConfig, PeerId};
use burn_communication::Address;

/// Devices and nodes of one run. `Spread::default()` is one device of one machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// Replicas on this node, one per device.
    pub devices: usize,
    pub nodes: usize,
    /// This node's place among `nodes` (0 writes the run's row).
    pub rank: usize,
    /// Where the nodes meet; `Some` exactly when `nodes > 1`.
    pub cluster: Option<Cluster>,
    /// How long a replica may take to answer before its run fails: a dead node must make the
    /// others stop, not hang in an all-reduce that never completes.
    pub peer_timeout: Duration,
}

impl Default for Spread {
    fn default() -> Self {
        Self {
            devices: 1,
            nodes: 1,
            rank: 0,
            cluster: None,
            peer_timeout: Duration::from_secs(300),
        }
    }
}

/// The addresses of a multi-node run.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// `HOST:PORT` of the global orchestrator (`--coordinator`), hosted by rank 0.
    pub coordinator: String,
    /// `HOST:PORT` the other nodes reach this node's tensor data service at.
    pub node_address: String,
}

impl Spread {
    /// Replicas over all nodes: what the global batch is split into.
    pub fn replicas(&self) -> usize {
        self.devices * self.nodes
    }

    /// Whether gradients are all-reduced at all.
    pub fn is_parallel(&self) -> bool {
        self.replicas() > 1
    }

    /// The collective peer of this node's `local` replica: unique over all nodes.
    pub(super) fn peer(&self, local: usize) -> PeerId {
        PeerId((self.rank * self.devices + local) as u32)
    }

    /// Index of this node's `local` replica among all replicas: its shard of the batch.
    pub(super) fn shard(&self, local: usize) -> usize {
        self.rank * self.devices + local
    }

    pub(super) fn config(&self) -> Result<CollectiveConfig> {
        let config = CollectiveConfig::default().with_num_devices(self.devices);
        let Some(c) = &self.cluster else {
            return Ok(config);
        };
        let port = port_of(&c.node_address)?;
        // burn's ring all-reduce cannot split a tensor with fewer rows than nodes (a
        // one-value loss); the centralized one takes any shape.
        Ok(config
            .with_global_all_reduce_strategy(AllReduceStrategy::Centralized)
            .with_num_nodes(self.nodes as u32)
            .with_global_address(ws(&c.coordinator))
            .with_node_address(ws(&c.node_address))
            .with_data_service_port(port))
    }
}

fn ws(host_port: &str) -> Address {
    format!("ws://{host_port}")
        .parse()
        .expect("an address parses from any string")
}

/// The port of `HOST:PORT`.
pub fn port_of(host_port: &str) -> Result<u16> {
    host_port
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .ok_or_else(|| anyhow!("{host_port:?} is not HOST:PORT"))
}

/// Starts burn's global orchestrator on `port` (all interfaces) on a thread of its own, for
/// the life of the process: rank 0 hosts it for the nodes of its run.
pub fn host_orchestrator(port: u16) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("orchestrator".into())
        .spawn(move || rt.block_on(burn_collective::start_global_orchestrator(port)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_and_shards_are_unique_over_the_nodes() {
        let node = |rank| Spread {
            devices: 2,
            nodes: 3,
            rank,
            ..Spread::default()
        };
        let all: Vec<usize> = (0..3)
            .flat_map(|r| (0..2).map(move |d| node(r).shard(d)))
            .collect();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
        assert_eq!(node(2).peer(1), PeerId(5));
        assert_eq!(node(0).replicas(), 6);
        assert!(!Spread::default().is_parallel());
        assert_eq!(port_of("127.0.0.1:4242").unwrap(), 4242);
        assert!(port_of("localhost").is_err());
    }
}
