//! Who the export is to the tracking server: the `Authorization` header MLflow's own client
//! sends, from the same environment variables.

use anyhow::Result;
use base64::Engine;

use crate::error::input;

/// The `Authorization` header MLflow's own client would send: `MLFLOW_TRACKING_TOKEN` as a
/// bearer token, else `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD` as basic auth.
pub fn auth_header(var: impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(token) = var("MLFLOW_TRACKING_TOKEN") {
        return Ok(Some(format!("Bearer {token}")));
    }
    match (
        var("MLFLOW_TRACKING_USERNAME"),
        var("MLFLOW_TRACKING_PASSWORD"),
    ) {
        (Some(user), Some(password)) => {
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            Ok(Some(format!("Basic {pair}")))
        }
        (None, None) => Ok(None),
        (Some(_), None) => {
            input("MLFLOW_TRACKING_USERNAME is set but MLFLOW_TRACKING_PASSWORD is not")
        }
        (None, Some(_)) => {
            input("MLFLOW_TRACKING_PASSWORD is set but MLFLOW_TRACKING_USERNAME is not")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Option<String>> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        auth_header(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_token_is_a_bearer_and_a_user_with_a_password_is_basic() {
        assert_eq!(env(&[]).unwrap(), None);
        let token = [
            ("MLFLOW_TRACKING_TOKEN", "t0k"),
            ("MLFLOW_TRACKING_USERNAME", "u"),
        ];
        assert_eq!(env(&token).unwrap().as_deref(), Some("Bearer t0k"));
        let user = [
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "s3cret"),
        ];
        // base64("alice:s3cret")
        assert_eq!(
            env(&user).unwrap().as_deref(),
            Some("Basic YWxpY2U6czNjcmV0")
        );
        // An empty variable counts as unset.
        assert_eq!(env(&[("MLFLOW_TRACKING_TOKEN", "")]).unwrap(), None);
    }

    #[test]
    fn half_of_a_user_and_password_is_refused_as_bad_input() {
        let err = env(&[("MLFLOW_TRACKING_USERNAME", "alice")]).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(
            err.to_string().contains("MLFLOW_TRACKING_PASSWORD is not"),
            "{err}"
        );
    }
}
