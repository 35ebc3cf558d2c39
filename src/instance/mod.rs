//! Where a run happens: the instance catalog with dated prices, and facts read off the host.

pub mod catalog;
pub mod host;

pub use catalog::{Instance, Price};
