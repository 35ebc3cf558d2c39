//! What a kWh costs and emits, as the user gave it to `report`, and how the page states it.

/// What a kWh costs and emits, as given to `report` (`--kwh-price`, `--kg-co2-per-kwh`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EnergyRates {
    pub usd_per_kwh: Option<f64>,
    pub kg_co2_per_kwh: Option<f64>,
}

pub const J_PER_KWH: f64 = 3.6e6;

/// The rates as the page states them.
pub fn stated(r: EnergyRates) -> String {
    let price = r
        .usd_per_kwh
        .map_or("energy unpriced (--kwh-price)".into(), |p| {
            format!("energy at ${p}/kWh from --kwh-price")
        });
    let co2 = r.kg_co2_per_kwh.map_or(String::new(), |k| {
        format!("; {k} kg CO₂e/kWh from --kg-co2-per-kwh")
    });
    price + &co2
}
