//! `gpubench export`: results sent on to the tools users already keep. Like `report`, it reads
//! rows only (through the report's loader, so old schemas and duplicates are handled once).

pub mod mlflow;
