//! The maths of aggregation: statistics over repeats, ranks, and the Pareto set.

/// Repeats whose CV exceeds this disagree too much for their median to be trusted alone.
const NOISY_CV: f64 = 0.10;

/// Summary statistics of one measure over a configuration's repeats.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Coefficient of variation: the *sample* standard deviation (n − 1 denominator) divided
    /// by the mean. None with fewer than two values or a zero mean.
    pub cv: Option<f64>,
    pub n: usize,
}

impl Stat {
    /// Statistics of the finite values; None when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let mean = v.iter().sum::<f64>() / n as f64;
        let cv = (n > 1 && mean != 0.0).then(|| {
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt() / mean.abs()
        });
        Some(Self {
            median,
            min: v[0],
            max: v[n - 1],
            cv,
            n,
        })
    }

    pub fn noisy(&self) -> bool {
        self.cv.is_some_and(|cv| cv > NOISY_CV)
    }
}

/// Rank 1 for the smallest value; equal values share a rank; None stays unranked.
pub fn ranks(values: &[Option<f64>]) -> Vec<Option<usize>> {
    values
        .iter()
        .map(|v| v.map(|v| 1 + values.iter().flatten().filter(|w| **w < v).count()))
        .collect()
}

/// Which (time, cost) points no other point dominates.
pub fn pareto(points: &[Option<(f64, f64)>]) -> Vec<bool> {
    points
        .iter()
        .map(|p| {
            p.is_some_and(|(t, c)| {
                !points
                    .iter()
                    .flatten()
                    .any(|&(u, d)| u <= t && d <= c && (u < t || d < c))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_median_min_max_and_sample_cv() {
        let s = Stat::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        // mean 5, squared deviations sum to 32, sample variance 32/7.
        assert_eq!((s.median, s.min, s.max, s.n), (4.5, 2.0, 9.0, 8));
        assert!((s.cv.unwrap() - (32.0f64 / 7.0).sqrt() / 5.0).abs() < 1e-12);
        assert!(s.noisy());
        let s = Stat::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.cv), (2.0, Some(0.5)));
        // One value: no spread was measured.
        assert_eq!(Stat::of([7.0]).unwrap().cv, None);
        assert_eq!(Stat::of([f64::NAN]), None);
        let quiet = Stat::of([10.0, 10.5, 9.5]).unwrap();
        assert_eq!(quiet.cv, Some(0.05));
        assert!(!quiet.noisy());
    }

    #[test]
    fn ranks_share_ties_and_skip_missing() {
        let r = ranks(&[Some(3.0), None, Some(1.0), Some(3.0), Some(2.0)]);
        assert_eq!(r, [Some(3), None, Some(1), Some(3), Some(2)]);
    }

    #[test]
    fn pareto_keeps_the_undominated() {
        let p = pareto(&[
            Some((1.0, 10.0)), // fastest
            Some((2.0, 5.0)),  // a trade-off
            Some((3.0, 5.0)),  // as cheap as the previous but slower: dominated
            Some((4.0, 1.0)),  // cheapest
            Some((5.0, 2.0)),  // dominated
            None,              // no price: not comparable
            Some((1.0, 10.0)), // equal to the first: neither dominates
        ]);
        assert_eq!(p, [true, true, false, true, false, false, true]);
    }
}
