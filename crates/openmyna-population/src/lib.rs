//! A deterministic synthetic population of Japanese residents.
//!
//! The same seed and date always give the same people. Names are drawn from common surnames
//! and from given names typical of each generation, with their readings; residents are spread
//! over the 47 prefectures in proportion to the 2020 census and live in real municipalities
//! (with their real local-government codes and postal-code areas) at plausible addresses; ages
//! follow Japan's 2023 age pyramid, and the sex ratio shifts with age as it does in Japan.
//!
//! Nobody generated here exists: the street names are generic, the house numbers random, and
//! the My Numbers random numbers with valid check digits.

mod data;

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate};
use openmyna_core::Timestamp;
use openmyna_ids::{MunicipalityCode, MyNumber, ResidentCode};
use openmyna_registry::{Address, BasicFour, NewResident, PersonName, PostalCode, ResidentId, Sex};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use data::{MUNICIPALITIES, Municipality, PREFECTURES};

/// One prefecture's municipalities with their parsed codes, and their weights.
type PrefectureTable = (Vec<(MunicipalityCode, &'static Municipality)>, Vec<u32>);

/// Generates residents one after another; an endless iterator.
pub struct Generator {
    rng: ChaCha8Rng,
    today: NaiveDate,
    now: Timestamp,
    seen_my_numbers: HashSet<u64>,
    seen_resident_codes: HashSet<u64>,
    /// Milliseconds since 2020 for the next id: one per resident, so ids ascend.
    next_id_ms: i64,
    prefecture_weights: Vec<u32>,
    age_weights: Vec<u32>,
    /// Per prefecture: its municipalities with their parsed codes and weights.
    municipalities: Vec<PrefectureTable>,
}

fn pick_weighted(rng: &mut impl Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Rank-weighted choice: the k-th entry is drawn with weight 1/(k+1) (Zipf), as name
/// frequencies are.
fn pick_zipf<T>(rng: &mut impl Rng, items: &[T]) -> usize {
    let n = items.len().max(1);
    let h: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = rng.random::<f64>() * h;
    for k in 1..=n {
        x -= 1.0 / k as f64;
        if x <= 0.0 {
            return k - 1;
        }
    }
    n - 1
}

const KANJI_DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

impl Generator {
    /// A generator for `seed`, with ages computed on the date of `now`.
    pub fn new(seed: u64, now: Timestamp) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            today: now.date_naive(),
            now,
            seen_my_numbers: HashSet::new(),
            seen_resident_codes: HashSet::new(),
            next_id_ms: now.timestamp_millis() - 1_577_836_800_000,
            prefecture_weights: PREFECTURES.iter().map(|p| p.1).collect(),
            age_weights: data::AGE_BANDS.to_vec(),
            municipalities: (1..=47u32)
                .map(|p| {
                    // Every code in the table is valid (checked by a unit test).
                    let ms: Vec<_> = MUNICIPALITIES
                        .iter()
                        .filter(|m| m.jis / 1000 == p)
                        .filter_map(|m| MunicipalityCode::from_jis(m.jis).ok().map(|c| (c, m)))
                        .collect();
                    let w = ms.iter().map(|(_, m)| m.weight).collect();
                    (ms, w)
                })
                .collect(),
        }
    }

    fn birth_date(&mut self) -> NaiveDate {
        let band = pick_weighted(&mut self.rng, &self.age_weights);
        let age = band as i64 * 5 + self.rng.random_range(0..5);
        let days_into_year = self.rng.random_range(0..365);
        let d = self.today - Duration::days(age * 365 + age / 4 + days_into_year);
        d.max(NaiveDate::from_ymd_opt(1920, 1, 1).unwrap_or(d))
    }

    fn sex(&mut self, age: u32) -> Sex {
        let female = match age {
            0..=59 => 0.49,
            60..=79 => 0.52,
            _ => 0.62,
        };
        if self.rng.random_bool(female) {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// `None` only if a name table is empty, which the data never is.
    fn name(&mut self, sex: Sex, birth_year: i32) -> Option<PersonName> {
        let &(family, family_kana) =
            data::SURNAMES.get(pick_zipf(&mut self.rng, data::SURNAMES))?;
        let [before_1960, from_1960, from_1995] = match sex {
            Sex::Female => data::FEMALE_NAMES,
            _ => data::MALE_NAMES,
        };
        let pool = match birth_year {
            ..=1959 => before_1960,
            1960..=1994 => from_1960,
            _ => from_1995,
        };
        let &(given, given_kana) = pool.get(pick_zipf(&mut self.rng, pool))?;
        Some(PersonName {
            name: format!("{family}\u{3000}{given}"),
            name_kana: format!("{family_kana}\u{3000}{given_kana}"),
        })
    }

    /// `None` only if a table is empty or the tables disagree on the prefectures, which the
    /// data never does.
    fn address(&mut self) -> Option<Address> {
        let pref = pick_weighted(&mut self.rng, &self.prefecture_weights);
        let (candidates, weights) = self.municipalities.get(pref)?;
        let (code, m) = candidates
            .get(pick_weighted(&mut self.rng, weights))?
            .clone();
        let town = *data::TOWNS.get(self.rng.random_range(0..data::TOWNS.len()))?;
        let chome = self.rng.random_range(1..=5usize);
        let ban = self.rng.random_range(1..=30);
        let go = self.rng.random_range(1..=20);
        let postal = format!("{:03}{:04}", m.postal, self.rng.random_range(0..10_000));
        let (prefecture, _) = PREFECTURES.get(pref)?;
        let chome = KANJI_DIGITS.get(chome)?;
        Some(Address {
            municipality_code: code,
            postal_code: PostalCode::parse(&postal).ok(),
            text: format!(
                "{}{}{}{}丁目{}番{}号",
                prefecture, m.name, town, chome, ban, go
            ),
        })
    }

    fn unique_my_number(&mut self) -> MyNumber {
        loop {
            let n = MyNumber::generate(&mut self.rng);
            let key: u64 = n.expose().parse().unwrap_or(0);
            if self.seen_my_numbers.insert(key) {
                return n;
            }
        }
    }

    fn unique_resident_code(&mut self) -> ResidentCode {
        loop {
            let c = ResidentCode::generate(&mut self.rng);
            let key: u64 = c.as_str().parse().unwrap_or(0);
            if self.seen_resident_codes.insert(key) {
                return c;
            }
        }
    }
}

impl Iterator for Generator {
    type Item = NewResident;

    fn next(&mut self) -> Option<NewResident> {
        let birth_date = self.birth_date();
        let age = openmyna_core::age_on(birth_date, self.today);
        let sex = self.sex(age);
        // The iterator is endless; it could only end if the data tables were broken.
        let name = self.name(sex, birth_date.year())?;
        let address = self.address()?;
        let id = ResidentId::from_parts(self.next_id_ms, self.rng.random());
        self.next_id_ms += 1;
        Some(NewResident {
            id,
            my_number: self.unique_my_number(),
            resident_code: self.unique_resident_code(),
            basic4: BasicFour {
                name,
                address,
                birth_date,
                sex,
            },
            registered_at: self.now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use openmyna_core::kana;

    fn now() -> Timestamp {
        DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap()
    }

    #[test]
    fn deterministic_from_seed() {
        let a: Vec<_> = Generator::new(9, now()).take(50).collect();
        let b: Vec<_> = Generator::new(9, now()).take(50).collect();
        let c: Vec<_> = Generator::new(10, now()).take(50).collect();
        let key = |v: &[NewResident]| -> Vec<String> {
            v.iter()
                .map(|r| format!("{}{:?}", r.my_number.expose(), r.basic4))
                .collect()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn residents_are_valid_and_plausible() {
        let today = now().date_naive();
        let people: Vec<_> = Generator::new(1, now()).take(20_000).collect();
        let mut female = 0;
        let mut over_65 = 0;
        let mut tokyo = 0;
        for p in &people {
            let b = &p.basic4;
            // Every generated value passes the same validation as API input.
            PersonName::parse(&b.name.name, &b.name.name_kana).unwrap();
            assert!(
                kana::is_katakana_name(&b.name.name_kana),
                "{}",
                b.name.name_kana
            );
            assert!(b.birth_date <= today);
            MyNumber::parse(p.my_number.expose()).unwrap();
            female += usize::from(b.sex == Sex::Female);
            over_65 += usize::from(openmyna_core::age_on(b.birth_date, today) >= 65);
            tokyo += usize::from(b.address.municipality_code.prefecture() == 13);
            assert!(
                b.address.text.starts_with(
                    PREFECTURES[b.address.municipality_code.prefecture() as usize - 1].0
                )
            );
        }
        let n = people.len() as f64;
        assert!((0.48..0.54).contains(&(female as f64 / n)), "female share");
        // Japan: 29% aged 65 and over; Tokyo: 11% of the population.
        assert!(
            (0.25..0.33).contains(&(over_65 as f64 / n)),
            "65+ share {}",
            over_65 as f64 / n
        );
        assert!((0.09..0.13).contains(&(tokyo as f64 / n)), "Tokyo share");
    }

    #[test]
    fn every_municipality_code_is_valid_and_in_its_prefecture() {
        for m in MUNICIPALITIES {
            let c = MunicipalityCode::from_jis(m.jis).unwrap();
            assert!((1..=47).contains(&c.prefecture()), "{}", m.name);
        }
        for p in 1..=47u32 {
            assert!(
                MUNICIPALITIES.iter().any(|m| m.jis / 1000 == p),
                "prefecture {p}"
            );
        }
    }
}
