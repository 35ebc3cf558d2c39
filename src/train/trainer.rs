//! How a global batch is trained: by one replica on this thread, or split over this node's
//! replicas, each on a thread of its own with its device, all-reducing their gradients with
//! every replica of the run (burn's collective, across nodes through its orchestrator).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use burn::collective::{
    CollectiveConfig, PeerId, ReduceOperation, all_reduce, finish_collective, register,
    reset_collective,
};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::input::HostBatch;
use super::replica::{Replica, StepTimes};
use super::spread::Spread;
use crate::error::panic_message;
use crate::ops::TrainBackend;
use crate::workload::Workload;

pub(super) enum Trainer<B: TrainBackend, W: Workload>
where
    W::Model<B>: AutodiffModule<B>,
{
    One(Replica<B, W>),
    Many(Workers<B, W>),
}

impl<B, W> Trainer<B, W>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
{
    /// Replicas of `models` (one start, placed on each of `devices`), joined into the
    /// collective when the run is data-parallel: this waits for every node to join.
    pub fn new(
        w: W,
        spread: &Spread,
        devices: Vec<B::Device>,
        models: Vec<W::Model<B>>,
    ) -> Result<Self> {
        if !spread.is_parallel() {
            let (device, model) = devices.into_iter().zip(models).next().expect("one device");
            return Ok(Self::One(Replica::new(w, device, model, None)));
        }
        Workers::start(w, spread, devices, models).map(Self::Many)
    }

    /// One step on the global batch `host`.
    pub fn step(&mut self, host: HostBatch) -> Result<StepTimes> {
        match self {
            Self::One(r) => r.step(host, 1.0),
            Self::Many(m) => m.step(host),
        }
    }

    pub fn sync(&mut self) -> Result<()> {
        match self {
            Self::One(r) => r.sync(),
            Self::Many(m) => m.ask_all(|_| Ask::Sync).map(drop),
        }
    }

    /// The summed loss of the global batches since the last call (synced).
    pub fn take_loss(&mut self) -> Result<f64> {
        match self {
            Self::One(r) => r.take_loss(),
            Self::Many(m) => match m.ask_all(|_| Ask::Loss)?.swap_remove(0) {
                Answer::Loss(l) => Ok(l),
                _ => bail!("a replica answered out of turn"),
            },
        }
    }

    /// The first replica's model (all are equal: they apply the same reduced gradients).
    pub fn model(&mut self) -> Result<W::Model<B>> {
        match self {
            Self::One(r) => Ok(r.model().clone()),
            Self::Many(m) => match m.ask(0, Ask::Model)? {
                Answer::Model(model) => Ok(model),
                _ => bail!("a replica answered out of turn"),
            },
        }
    }

    /// Lets the replicas leave the collective and end. Waits a bounded time for each: after a
    /// failure one may be stuck with a dead node, and is left to end with the process.
    pub fn finish(self) {
        if let Self::Many(m) = self {
            for w in m.workers {
                drop(w.ask);
                // The thread's end hangs up its side of the channel.
                while w.answers.recv_timeout(FINISH_WAIT).is_ok() {}
            }
        }
    }
}

/// How long a replica may take to leave the collective at the end of a run.
const FINISH_WAIT: Duration = Duration::from_secs(10);

enum Ask {
    Step(HostBatch, f32),
    Sync,
    Loss,
    Model,
}

enum Answer<M> {
    Ready,
    Stepped(StepTimes),
    Done,
    Loss(f64),
    Model(M),
    Failed(String),
}

struct Worker<M> {
    ask: Sender<Ask>,
    answers: Receiver<Answer<M>>,
}

pub(super) struct Workers<B: TrainBackend, W: Workload>
where
    W::Model<B>: AutodiffModule<B>,
{
    w: W,
    spread: Spread,
    workers: Vec<Worker<W::Model<B>>>,
}

impl<B, W> Workers<B, W>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
{
    fn start(
        w: W,
        spread: &Spread,
        devices: Vec<B::Device>,
        models: Vec<W::Model<B>>,
    ) -> Result<Self> {
        // A run that failed before may have left peers registered.
        reset_collective::<B::InnerBackend>();
        let config = spread.config()?;
        let workers = devices
            .into_iter()
            .zip(models)
            .enumerate()
            .map(|(k, (device, model))| {
                let (ask, asks) = channel();
                let (tell, answers) = channel();
                let (peer, config) = (spread.peer(k), config.clone());
                std::thread::Builder::new()
                    .name(format!("replica-{k}"))
                    .spawn(move || serve::<B, W>(w, device, model, peer, config, asks, tell))?;
                Ok(Worker { ask, answers })
            })
            .collect::<Result<_>>()?;
        let me = Self {
            w,
            spread: spread.clone(),
            workers,
        };
        for k in 0..me.workers.len() {
            me.answer(k)?;
        }
        Ok(me)
    }

    /// Splits the global batch into one shard per replica of the run and steps this node's
    /// replicas on theirs. Each shard's loss is weighted by its share of what the whole
    /// batch's loss averages over (images, or a masked loss's valid targets), so the summed
    /// gradients are the gradient one device would take on the whole batch.
    fn step(&mut self, host: HostBatch) -> Result<StepTimes> {
        let all = self.spread.replicas();
        let n = host.len(&self.w);
        let total = self.w.loss_count(&host.y, &host.mask);
        let shards: Vec<(HostBatch, f32)> = (0..self.workers.len())
            .map(|k| {
                let s = self.spread.shard(k);
                let shard = host.rows(&self.w, s * n / all, (s + 1) * n / all);
                let part = self.w.loss_count(&shard.y, &shard.mask);
                let share = if total > 0.0 {
                    part / total
                } else {
                    1.0 / all as f64
                };
                (shard, share as f32)
            })
            .collect();
        let mut shards = shards.into_iter();
        let answers = self.ask_all(|_| {
            let (shard, share) = shards.next().expect("one shard per replica");
            Ask::Step(shard, share)
        })?;
        // The replica that waited least in the all-reduce waited for no straggler: its time
        // is the communication itself.
        let times = answers.into_iter().filter_map(|a| match a {
            Answer::Stepped(t) => Some(t),
            _ => None,
        });
        Ok(times.fold(StepTimes::default(), |acc, t| StepTimes {
            upload_s: acc.upload_s.max(t.upload_s),
            comm_s: match (acc.comm_s, t.comm_s) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }))
    }

    fn ask_all(&mut self, mut ask: impl FnMut(usize) -> Ask) -> Result<Vec<Answer<W::Model<B>>>> {
        for k in 0..self.workers.len() {
            self.send(k, ask(k))?;
        }
        (0..self.workers.len()).map(|k| self.answer(k)).collect()
    }

    fn ask(&mut self, k: usize, ask: Ask) -> Result<Answer<W::Model<B>>> {
        self.send(k, ask)?;
        self.answer(k)
    }

    fn send(&self, k: usize, ask: Ask) -> Result<()> {
        self.workers[k]
            .ask
            .send(ask)
            .map_err(|_| anyhow!("replica {k} stopped"))
    }

    /// Replica `k`'s next answer, within the peer timeout: a replica blocked in an all-reduce
    /// with a node that died never answers, and the run must fail rather than hang.
    fn answer(&self, k: usize) -> Result<Answer<W::Model<B>>> {
        let timeout = self.spread.peer_timeout;
        match self.workers[k].answers.recv_timeout(timeout) {
            Ok(Answer::Failed(why)) => bail!("replica {k}: {why}"),
            Ok(a) => Ok(a),
            Err(RecvTimeoutError::Timeout) => bail!(
                "replica {k} of node {} gave no answer in {} s: another node of the run \
                 stopped or cannot be reached (--peer-timeout)",
                self.spread.rank,
                timeout.as_secs()
            ),
            Err(RecvTimeoutError::Disconnected) => bail!("replica {k} stopped"),
        }
    }
}

/// A replica's thread: joins the collective, then answers asks until the trainer hangs up.
fn serve<B, W>(
    w: W,
    device: B::Device,
    model: W::Model<B>,
    peer: PeerId,
    config: CollectiveConfig,
    asks: Receiver<Ask>,
    tell: Sender<Answer<W::Model<B>>>,
) where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
{
    let served = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        // With autodiff, the collective works on the inner backend, where gradients live.
        register::<B::InnerBackend>(peer, device.clone(), config)
            .map_err(|e| anyhow!("joining the collective failed: {e:?}"))?;
        let _ = tell.send(Answer::Ready);
        let mut r = Replica::<B, W>::new(w, device, model, Some(peer));
        for ask in asks {
            let answer = match ask {
                Ask::Step(host, share) => Answer::Stepped(r.step(host, share)?),
                Ask::Sync => r.sync().map(|_| Answer::Done)?,
                Ask::Loss => Answer::Loss(global_loss(&mut r, peer)?),
                Ask::Model => r.sync().map(|_| Answer::Model(r.model().clone()))?,
            };
            let _ = tell.send(answer);
        }
        let _ = finish_collective::<B::InnerBackend>(peer);
        Ok(())
    }));
    let failed = match served {
        Ok(Ok(())) => return,
        Ok(Err(e)) => format!("{e:#}"),
        Err(p) => format!("panicked: {}", panic_message(&*p)),
    };
    let _ = tell.send(Answer::Failed(failed));
}

/// The loss summed over every replica of the run: each replica's is its share of the batch's.
fn global_loss<B, W>(r: &mut Replica<B, W>, peer: PeerId) -> Result<f64>
where
    B: TrainBackend,
    W: Workload,
    W::Model<B>: AutodiffModule<B>,
{
    let mine = r.take_loss_tensor()?;
    let sum =
        all_reduce::<B::InnerBackend>(peer, mine.into_primitive().tensor(), ReduceOperation::Sum)
            .map_err(|e| anyhow!("all-reduce of the loss failed: {e:?}"))?;
    super::phase::read::<B::InnerBackend, 1>(Tensor::from_primitive(TensorPrimitive::Float(sum)))
}
