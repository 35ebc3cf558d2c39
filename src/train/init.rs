//! One start for every backend: the initial weights are drawn on the host, on burn's Flex
//! seeded with `--seed`, and copied to the training device. Each backend's own RNG would give
//! each its own start, and then a difference in quality could not be told from a numerics bug.

use burn::backend::Flex;
use burn::backend::flex::FlexDevice;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::TensorData;
use sha2::{Digest, Sha256};

use crate::workload::Workload;

/// `w`'s model on `device` with the weights `seed` draws on the host, and the first 16 hex
/// digits of the SHA-256 of those weights' bytes (the `init_sha256` column).
pub fn initial<B: Backend, W: Workload>(
    w: &W,
    device: &B::Device,
    seed: u64,
) -> (W::Model<B>, String) {
    let (mut models, sha) = replicas::<B, W>(w, std::slice::from_ref(device), seed);
    (models.remove(0), sha)
}

/// The same start placed on each of `devices`: the replicas of a data-parallel run.
pub(super) fn replicas<B: Backend, W: Workload>(
    w: &W,
    devices: &[B::Device],
    seed: u64,
) -> (Vec<W::Model<B>>, String) {
    Flex::seed(&FlexDevice, seed);
    let mut values = Values(Vec::new());
    w.init::<Flex>(&FlexDevice).visit(&mut values);
    let mut hash = Sha256::new();
    for v in &values.0 {
        hash.update(v.as_bytes());
    }
    let sha: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let models = devices
        .iter()
        .map(|device| {
            let mut place = Place {
                values: values.0.iter().cloned().enumerate(),
                device,
            };
            // The target's own parameters are lazy: replaced before they are ever drawn.
            w.init::<B>(device).map(&mut place)
        })
        .collect();
    (models, sha)
}

/// Every float parameter's values, in the module's visiting order (which draws them).
struct Values(Vec<TensorData>);

impl ModuleVisitor<Flex> for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Flex, D>>) {
        self.0.push(param.val().into_data());
    }
}

/// Puts the host's values, in the same order, into the same model on `device`, each
/// parameter's id its place in that order. Replicas all-reduce their gradients in id order,
/// so ids must be equal on every replica of every node; burn's own are random per process.
struct Place<'a, B: Backend, I> {
    values: I,
    device: &'a B::Device,
}

impl<B: Backend, I: Iterator<Item = (usize, TensorData)>> ModuleMapper<B> for Place<'_, B, I> {
    fn map_float<const D: usize>(&mut self, _: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (k, values) = self
            .values
            .next()
            .expect("the same model type has the same parameters");
        let t = Tensor::from_data(values, self.device).require_grad();
        Param::initialized(ParamId::from(k as u64), t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Turtle;

    /// Every weight of `m`, wherever it lives.
    fn weights<B: Backend>(m: &<Turtle as Workload>::Model<B>) -> Vec<f32> {
        struct All(Vec<f32>);
        impl<B: Backend> ModuleVisitor<B> for All {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
                self.0.extend(p.val().into_data().to_vec::<f32>().unwrap());
            }
        }
        let mut all = All(Vec::new());
        m.visit(&mut all);
        all.0
    }

    #[test]
    fn the_start_depends_on_the_seed_alone() {
        type Cpu = burn::backend::Autodiff<Flex>;
        let (a, sha_a) = initial::<Cpu, _>(&Turtle, &FlexDevice, 7);
        Flex::seed(&FlexDevice, 99); // a backend RNG left elsewhere changes nothing
        let (b, sha_b) = initial::<Flex, _>(&Turtle, &FlexDevice, 7);
        let (_, sha_c) = initial::<Flex, _>(&Turtle, &FlexDevice, 8);
        assert_eq!(sha_a, sha_b);
        assert_eq!(sha_a.len(), 16);
        assert_ne!(sha_a, sha_c);
        assert_eq!(weights::<Cpu>(&a), weights::<Flex>(&b));
        assert_eq!(
            a.num_params(),
            Turtle.init::<Flex>(&FlexDevice).num_params()
        );
    }
}
