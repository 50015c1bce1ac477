//! Small validation helpers shared by the domain records.

use crate::error::FieldError;

pub fn normalise_email(raw: &str) -> String {
    raw.trim().to_ascii_lowercase()
}

pub fn check_email(field: &str, email: &str, errors: &mut Vec<FieldError>) {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if !ok {
        errors.push(FieldError::new(field, "must be an email address"));
    }
}

/// A display text: trimmed, 1..=max characters, no control characters.
pub fn check_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if trimmed.chars().count() > max {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    } else if trimmed.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
}

pub fn check_list_len<T>(field: &str, list: &[T], max: usize, errors: &mut Vec<FieldError>) {
    if list.len() > max {
        errors.push(FieldError::new(field, format!("must have at most {max} entries")));
    }
}

pub fn into_result(errors: Vec<FieldError>) -> crate::error::ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::error::ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last+tag@sub.example.test"] {
            let mut e = Vec::new();
            check_email("email", good, &mut e);
            assert!(e.is_empty(), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a b@c.co", "a@b@c.co", "a@.co"] {
            let mut e = Vec::new();
            check_email("email", bad, &mut e);
            assert_eq!(e.len(), 1, "{bad}");
        }
    }
}
