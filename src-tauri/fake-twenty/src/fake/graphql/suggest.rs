//! graphql-js's "Did you mean …?" hints, so the fake's validation messages read like Twenty's
//! (`Field "nope" is not defined by type "RepProgressionFilterInput". Did you mean "name" or
//! "not"?`, checked against the real server). Behaviour of graphql-js 16.8
//! `jsutils/suggestionList.js` (options within `floor(len × 0.4) + 1` edits, a case change being
//! one edit, adjacent swaps one edit; sorted by distance, then natural order),
//! `jsutils/naturalCompare.js` and `jsutils/didYouMean.js` (at most five, quoted, "a or b",
//! "a, b, or c").

use std::cmp::Ordering;

/// The options close to `input`, best first.
pub fn suggestion_list<'a>(input: &str, options: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let threshold = input.chars().count() * 2 / 5 + 1;
    let mut found: Vec<(usize, String)> = Vec::new();
    for option in options {
        if found.iter().any(|(_, o)| o == option) {
            continue;
        }
        if let Some(d) = distance(input, option, threshold) {
            found.push((d, option.to_string()));
        }
    }
    found.sort_by(|(da, a), (db, b)| da.cmp(db).then_with(|| natural_compare(a, b)));
    found.into_iter().map(|(_, o)| o).collect()
}

/// ` Did you mean "a", "b", or "c"?` (empty without suggestions).
pub fn did_you_mean(suggestions: &[String]) -> String {
    let quoted: Vec<String> = suggestions
        .iter()
        .take(5)
        .map(|s| format!("\"{s}\""))
        .collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => format!(" Did you mean {one}?"),
        [a, b] => format!(" Did you mean {a} or {b}?"),
        [init @ .., last] => format!(" Did you mean {}, or {last}?", init.join(", ")),
    }
}

/// Optimal-string-alignment distance over lower-cased characters; `None` beyond `threshold`.
fn distance(input: &str, option: &str, threshold: usize) -> Option<usize> {
    if input == option {
        return Some(0);
    }
    let lower_in = input.to_lowercase();
    let lower_opt = option.to_lowercase();
    if lower_in == lower_opt {
        return Some(1);
    }
    let mut a: Vec<char> = lower_opt.chars().collect();
    let mut b: Vec<char> = lower_in.chars().collect();
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    if a.len() - b.len() > threshold {
        return None;
    }
    let mut rows = vec![vec![0usize; b.len() + 1]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut smallest = i;
        rows[i % 3][0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut cell = (rows[(i - 1) % 3][j] + 1)
                .min(rows[i % 3][j - 1] + 1)
                .min(rows[(i - 1) % 3][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cell = cell.min(rows[(i - 2) % 3][j - 2] + 1);
            }
            smallest = smallest.min(cell);
            rows[i % 3][j] = cell;
        }
        if smallest > threshold {
            return None;
        }
    }
    let d = rows[a.len() % 3][b.len()];
    (d <= threshold).then_some(d)
}

/// Strings compared character by character, runs of digits by their numeric value.
pub fn natural_compare(a: &str, b: &str) -> Ordering {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na: String = a[si..i].iter().collect();
            let nb: String = b[sj..j].iter().collect();
            let (na, nb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            let ord = a[i].cmp(&b[j]);
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_as_the_real_server_words_them() {
        let filter_fields = [
            "lastActivityDate",
            "syncWatermarks",
            "defeatedBosses",
            "totalXp",
            "syncRevision",
            "efficiencyMetrics",
            "passedExams",
            "level",
            "repEmail",
            "position",
            "createdBy",
            "deletedAt",
            "updatedAt",
            "createdAt",
            "name",
            "id",
            "and",
            "or",
            "not",
        ];
        let s = suggestion_list("nope", filter_fields);
        assert_eq!(
            did_you_mean(&s),
            " Did you mean \"name\" or \"not\"?",
            "checked on Twenty 7f19111"
        );
        assert_eq!(
            suggestion_list("totalxp", filter_fields),
            vec!["totalXp".to_string()]
        );
        assert_eq!(did_you_mean(&[]), "");
        let five: Vec<String> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            did_you_mean(&five),
            " Did you mean \"a\", \"b\", \"c\", \"d\", or \"e\"?"
        );
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_compare("a2", "a10"), Ordering::Less);
        assert_eq!(natural_compare("b", "a"), Ordering::Greater);
        assert_eq!(natural_compare("ab", "abc"), Ordering::Less);
    }
}
