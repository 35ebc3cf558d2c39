//! Where a run happens: the instance catalog with dated prices, detection through cloud
//! metadata services, and facts read off the host.

pub mod catalog;
pub mod detect;
pub mod gpus;
pub mod host;

pub use catalog::{Instance, Price};

use anyhow::Result;

use crate::error::input;

/// The instance a run is charged as, and how it was named: `cli` for a catalog name, `user`
/// for a machine the user named that the catalog lacks, `imds-aws`, `metadata-gcp`,
/// `imds-azure`, or `fallback` when `auto` found no metadata service. A user's name is priced
/// only by `--price` (`priced`); one close to a catalog name is refused unless priced, since
/// it is more likely a typo than a machine meant to go unpriced.
pub fn resolve(name: &str, priced: bool) -> Result<(Instance, String)> {
    if name.trim().is_empty() {
        return input(
            "--instance is empty: give a catalog name, `local`, `auto`, or a name for this machine",
        );
    }
    if name != "auto" {
        if let Some(i) = catalog::find(name)? {
            return Ok((i, "cli".into()));
        }
        let close = catalog::close_names(name)?;
        if !close.is_empty() && !priced {
            return input(format!(
                "unknown instance {name:?}; did you mean {}? (`gpubench instances` lists the \
                 catalog; a machine outside it takes any name, priced with --price USD)",
                close.join(", ")
            ));
        }
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!(" (close catalog names: {})", close.join(", "))
        };
        eprintln!(
            "instance {name}: not in the catalog{hint}; recorded as a machine of that name, \
             unpriced unless --price is given"
        );
        return Ok((Instance::unpriced(name, "local"), "user".into()));
    }
    match detect::detect(&detect::Endpoints::from_env()) {
        Ok(d) => Ok((from_detected(&d)?, d.source.into())),
        Err(why) => {
            eprintln!("instance auto: no cloud metadata service answered ({why}); using local");
            Ok((catalog::lookup("local")?, "fallback".into()))
        }
    }
}

/// The catalog entry of a detected instance. A type the catalog lacks, or one running in a
/// region other than the catalog's, is kept without a price rather than priced wrongly.
fn from_detected(d: &detect::Detected) -> Result<Instance> {
    let mut inst = catalog::all()?
        .into_iter()
        .find(|i| i.name == d.name)
        .unwrap_or_else(|| {
            eprintln!(
                "instance auto: {} is not in the catalog; no price unless --price is given",
                d.name
            );
            Instance::unpriced(&d.name, d.provider)
        });
    if let (Some(here), Some(priced)) = (&d.region, &inst.region)
        && here != priced
        && inst.price_usd_per_hour.is_some()
    {
        eprintln!(
            "instance auto: {} runs in {here}, the catalog prices {priced}; no price unless --price is given",
            d.name
        );
        inst.price_usd_per_hour = None;
        inst.spot_usd_per_hour = None;
    }
    inst.region = d.region.clone().or(inst.region);
    Ok(inst)
}
