//! Search text: what a term is compared as. Names are searched through their 1- and
//! 2-character grams (`kehu_search_grams`, migration 000008) with a LIKE recheck on
//! `kehu_search_text`, so 2-character Chinese terms (北京) are fast too.

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::RunQueryDsl;
use unicode_normalization::UnicodeNormalization;

use crate::{db::TenantTx, error::AppResult};

/// Normalises a search term the way `kehu_search_text` normalises names, in SQL so both
/// sides agree.
pub async fn normalise(tx: &mut TenantTx, term: &str) -> AppResult<String> {
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        t: String,
    }
    if term.is_empty() {
        return Ok(String::new());
    }
    let row: T = diesel::sql_query("SELECT kehu_search_text($1) AS t")
        .bind::<Text, _>(term)
        .get_result(&mut **tx)
        .await?;
    Ok(row.t)
}

/// The grams a term must contain: itself when one character long, else its bigrams.
pub fn term_grams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    match chars.len() {
        0 => vec![],
        1 => vec![text.to_owned()],
        _ => chars.windows(2).map(|w| w.iter().collect()).collect(),
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// NFKC, lower case, no white space: what `kehu_search_text` does in SQL.
pub fn search_text(value: &str) -> String {
    value
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{escape_like, search_text, term_grams};

    #[test]
    fn one_character_terms_use_their_unigram_and_longer_ones_their_bigrams() {
        assert_eq!(term_grams("京"), vec!["京"]);
        assert_eq!(term_grams("北京"), vec!["北京"]);
        assert_eq!(term_grams("北京市"), vec!["北京", "京市"]);
        assert!(term_grams("").is_empty());
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(search_text(" Ａ北 京"), "a北京");
    }
}
