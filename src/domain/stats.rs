//! The figures of the stats and timeline endpoints (docs/api.md, "Stats and
//! timeline"), assembled
//! from Fenwick prefix sums.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};

use super::aggregates::{Category, PromptAggregates};
use super::bins::Bins;
use super::fenwick;
use super::prompt::Prompt;

/// Counts per rating, serialized as `{"1": n, "2": m, …}` in rating order.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingCounts(pub Vec<(i64, i64)>);

impl Serialize for RatingCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (rating, count) in &self.0 {
            map.serialize_entry(&rating.to_string(), count)?;
        }
        map.end()
    }
}

/// Totals over all events in bins `≤ bin`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Start of the bin, `bin · bin_width`.
    pub prompt_time: f64,
    /// Width of a bin in seconds.
    pub bin_width: f64,
    /// Users present.
    pub users: i64,
    /// Likes so far.
    pub likes: i64,
    /// Numeric prompts: current answers per rating.
    pub numeric_active: Option<RatingCounts>,
    /// Press prompts: sessions pressing now.
    pub press_active: Option<i64>,
    /// Press prompts: presses so far.
    pub press: Option<i64>,
    /// Colour prompts: current answers per colour.
    pub color_active: Option<Vec<i64>>,
    /// Word prompts: current answers per option.
    pub word_active: Option<Vec<i64>>,
}

impl Stats {
    /// Assembles the stats of `bin` from a prefix-sum lookup.
    pub fn assemble(
        prompt: &Prompt,
        bins: Bins,
        bin: u32,
        mut sum: impl FnMut(Category) -> i64,
    ) -> Self {
        let mut stats = Stats {
            prompt_time: bin as f64 * bins.width(),
            bin_width: bins.width(),
            users: sum(Category::Users),
            likes: sum(Category::Likes),
            numeric_active: None,
            press_active: None,
            press: None,
            color_active: None,
            word_active: None,
        };
        match prompt {
            Prompt::Numeric { min, max, .. } => {
                stats.numeric_active = Some(RatingCounts(
                    (*min..=*max)
                        .map(|r| (r, sum(Category::NumericActive(r))))
                        .collect(),
                ))
            }
            Prompt::Press { .. } => {
                stats.press_active = Some(sum(Category::PressActive));
                stats.press = Some(sum(Category::Press));
            }
            Prompt::Color { colors, .. } => {
                stats.color_active = Some(
                    (0..colors.len() as i64)
                        .map(|i| sum(Category::ColorActive(i)))
                        .collect(),
                )
            }
            Prompt::Word { options, .. } => {
                stats.word_active = Some(
                    (0..options.len() as i64)
                        .map(|i| sum(Category::WordActive(i)))
                        .collect(),
                )
            }
        }
        stats
    }
}

/// Several series of one value per bin, written bin by bin: for each bin
/// a map from each series' label to its value (numeric prompts: the
/// ratings) or an array of the values (colours, words). Held as columns,
/// so that building it allocates one vector per series, not one per bin.
#[derive(Debug, Clone, PartialEq)]
pub struct PerBin {
    bins: usize,
    /// The labels, one per series; None: each bin is written as an array.
    labels: Option<Vec<String>>,
    series: Vec<Vec<i64>>,
}

impl PerBin {
    /// The values of `bin`, one per series.
    pub fn at(&self, bin: usize) -> Vec<i64> {
        self.series.iter().map(|s| s[bin]).collect()
    }
}

/// One bin of a [`PerBin`].
struct OneBin<'a>(&'a PerBin, usize);

impl Serialize for OneBin<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let OneBin(per, bin) = *self;
        match &per.labels {
            Some(labels) => {
                let mut map = s.serialize_map(Some(labels.len()))?;
                for (label, series) in labels.iter().zip(&per.series) {
                    map.serialize_entry(label.as_str(), &series[bin])?;
                }
                map.end()
            }
            None => {
                let mut seq = s.serialize_seq(Some(per.series.len()))?;
                for series in &per.series {
                    seq.serialize_element(&series[bin])?;
                }
                seq.end()
            }
        }
    }
}

impl Serialize for PerBin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..self.bins).map(|bin| OneBin(self, bin)))
    }
}

/// The stats of every bin at once, as arrays indexed by bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// Width of a bin in seconds.
    pub bin_width: f64,
    /// Number of bins.
    pub bins: u32,
    /// Users present, per bin.
    pub users: Vec<i64>,
    /// Likes so far, per bin.
    pub likes: Vec<i64>,
    /// Numeric prompts: per bin, answers per rating.
    pub numeric_active: Option<PerBin>,
    /// Press prompts: per bin, sessions pressing.
    pub press_active: Option<Vec<i64>>,
    /// Press prompts: per bin, presses so far.
    pub press: Option<Vec<i64>>,
    /// Colour prompts: per bin, answers per colour.
    pub color_active: Option<PerBin>,
    /// Word prompts: per bin, answers per option.
    pub word_active: Option<PerBin>,
}

impl Timeline {
    /// Assembles the timeline from every category's prefix sums (one
    /// entry per bin, from [`super::fenwick::all_prefix_sums`]).
    pub fn assemble(
        prompt: &Prompt,
        bins: Bins,
        mut sums: impl FnMut(Category) -> Vec<i64>,
    ) -> Self {
        let n = bins.count() as usize;
        let mut per_bin = |labels: Option<Vec<String>>, categories: Vec<Category>| PerBin {
            bins: n,
            labels,
            series: categories.into_iter().map(&mut sums).collect(),
        };
        let (mut numeric_active, mut color_active, mut word_active) = (None, None, None);
        let (mut press_active, mut press) = (None, None);
        match prompt {
            Prompt::Numeric { min, max, .. } => {
                let labels = (*min..=*max).map(|r| r.to_string()).collect();
                let categories = (*min..=*max).map(Category::NumericActive).collect();
                numeric_active = Some(per_bin(Some(labels), categories));
            }
            Prompt::Press { .. } => {
                press_active = Some(sums(Category::PressActive));
                press = Some(sums(Category::Press));
            }
            Prompt::Color { colors, .. } => {
                let categories = (0..colors.len() as i64).map(Category::ColorActive);
                color_active = Some(per_bin(None, categories.collect()));
            }
            Prompt::Word { options, .. } => {
                let categories = (0..options.len() as i64).map(Category::WordActive);
                word_active = Some(per_bin(None, categories.collect()));
            }
        }
        Timeline {
            bin_width: bins.width(),
            bins: bins.count(),
            users: sums(Category::Users),
            likes: sums(Category::Likes),
            numeric_active,
            press_active,
            press,
            color_active,
            word_active,
        }
    }
}

/// A prompt's Fenwick trees as dense arrays, one per category: what stats
/// and timelines are computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct FenwickArrays {
    bins: Bins,
    arrays: HashMap<Category, Vec<i64>>,
}

impl FenwickArrays {
    /// The arrays of `stored` rows (rows past the last bin are ignored).
    pub fn from_rows(stored: &PromptAggregates, bins: Bins) -> Self {
        let mut arrays = FenwickArrays {
            bins,
            arrays: HashMap::new(),
        };
        for (&(category, idx), &val) in &stored.fenwick {
            arrays.add(category, idx, val);
        }
        arrays
    }

    /// The integers held, over every array (for memory budgets).
    pub fn values(&self) -> usize {
        self.arrays.values().map(Vec::len).sum()
    }

    /// Adds `delta` at array position `idx` of `category`'s tree.
    pub fn add(&mut self, category: Category, idx: u32, delta: i64) {
        let n = self.bins.count();
        if idx < n {
            self.arrays
                .entry(category)
                .or_insert_with(|| vec![0; n as usize])[idx as usize] += delta;
        }
    }

    /// Stats through `bin`.
    pub fn stats(&self, prompt: &Prompt, bin: u32) -> Stats {
        Stats::assemble(prompt, self.bins, bin, |c| {
            self.arrays
                .get(&c)
                .map_or(0, |a| fenwick::prefix_sum(a, bin))
        })
    }

    /// Every bin's stats.
    pub fn timeline(&self, prompt: &Prompt) -> Timeline {
        let n = self.bins.count() as usize;
        Timeline::assemble(prompt, self.bins, |c| {
            self.arrays
                .get(&c)
                .map_or_else(|| vec![0; n], |a| fenwick::all_prefix_sums(a))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_styles_fields_are_set() {
        let p = Prompt::Numeric {
            text: "t".into(),
            min: 1,
            max: 3,
            step: 1,
        };
        let s = Stats::assemble(&p, Bins::new(10), 2, |c| match c {
            Category::NumericActive(r) => r * 10,
            _ => 1,
        });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["numeric_active"], json!({"1": 10, "2": 20, "3": 30}));
        assert_eq!(v["press"], json!(null));
        assert_eq!(v["users"], json!(1));
        assert!((s.prompt_time - 2.0 * 10.0 / 15.0).abs() < 1e-12);
    }

    #[test]
    fn timelines_are_indexed_by_bin() {
        let p = Prompt::Word {
            text: "w".into(),
            options: vec!["a".into(), "b".into()],
        };
        let t = Timeline::assemble(&p, Bins::new(3), |c| match c {
            Category::WordActive(i) => vec![i, i + 1, i + 2],
            _ => vec![0, 1, 2],
        });
        let words = t.word_active.as_ref().unwrap();
        assert_eq!((words.at(0), words.at(2)), (vec![0, 1], vec![2, 3]));
        assert_eq!(t.users, vec![0, 1, 2]);
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["word_active"], json!([[0, 1], [1, 2], [2, 3]]));
        assert_eq!(v["numeric_active"], json!(null));
        let n = Prompt::Numeric {
            text: "t".into(),
            min: 1,
            max: 2,
            step: 1,
        };
        let t = Timeline::assemble(&n, Bins::new(3), |c| match c {
            Category::NumericActive(r) => vec![r, 10 * r, 100 * r],
            _ => vec![0; 3],
        });
        let v = serde_json::to_value(&t).unwrap();
        let first = json!({"1": 1, "2": 2});
        assert_eq!(v["numeric_active"][0], first);
        assert_eq!(v["numeric_active"][2], json!({"1": 100, "2": 200}));
        assert_eq!(v["numeric_active"].as_array().unwrap().len(), 3);
    }
}
