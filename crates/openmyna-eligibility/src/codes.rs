//! The code tables of the eligibility record (OQS code tables, 別紙5-1, as far as public
//! parsers show them). Each code is an enum whose JSON and CSV form is the official code
//! string, and whose `parse` names the allowed values.

use crate::EligibilityError;

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal, $what:literal {
            $( $(#[$vmeta:meta])* $var:ident = $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The official code.
            pub fn code(self) -> &'static str {
                match self { $($name::$var => $code,)+ }
            }

            /// The Japanese label.
            pub fn label_ja(self) -> &'static str {
                match self { $($name::$var => $label,)+ }
            }

            pub fn parse(s: &str) -> Result<Self, EligibilityError> {
                let t = s.trim();
                $(if t == $code { return Ok($name::$var); })+
                let allowed: Vec<String> = Self::ALL
                    .iter()
                    .map(|c| format!("{} ({})", c.code(), c.label_ja()))
                    .collect();
                Err(EligibilityError::invalid(
                    concat!($field, ".unknown"),
                    $field,
                    format!("{} {:?} is not a known code; use one of {}", $what, t, allowed.join(", ")),
                ))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        /// In the OpenAPI document: a string, one of the codes.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(
                    utoipa::openapi::schema::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .enum_values(Some([$($code),+]))
                        .build(),
                ))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

code_enum! {
    /// 被保険者証区分 (InsuredCardClassification).
    CardClass, "card_class", "insured-card classification (被保険者証区分)" {
        General = "01", "被保険者証（一般）";
        Retired = "02", "被保険者証（退職）";
        ShortTerm = "03", "短期被保険者証（一般）";
        ShortTermRetired = "04", "短期被保険者証（退職）";
        SpecialCare = "05", "被保険者資格証明書";
        SpecialRetired = "06", "特例退職被保険者証";
        SelfDefense = "07", "自衛官診療証";
        MedicalAid = "A1", "医療扶助";
    }
}

code_enum! {
    /// 本人・家族の別 (PersonalFamilyClassification).
    Relationship, "relationship", "本人・家族の別" {
        Insured = "1", "本人";
        Dependent = "2", "家族";
    }
}

code_enum! {
    /// 資格喪失事由 (ReasonOfLoss).
    LossReason, "loss_reason", "reason of loss (資格喪失事由)" {
        Death = "01", "死亡";
        Welfare = "02", "生活保護受給開始";
        OtherInsurance = "03", "他保険の取得";
        Other = "99", "その他";
    }
}

code_enum! {
    /// 限度額適用認定証区分.
    LimitKind, "limit.kind", "limit-amount type (限度額適用認定証区分)" {
        Limit = "01", "限度額適用認定証";
        LimitAndMeal = "02", "限度額適用・標準負担額減額認定証";
        Meal = "03", "標準負担額減額認定証";
    }
}

code_enum! {
    /// 適用区分: A01–A06 under 70, B01–B10 from 70 (B09/B10 for 後期高齢者 only).
    LimitCategory, "limit.category", "limit-amount category (適用区分)" {
        A01 = "A01", "ア";
        A02 = "A02", "イ";
        A03 = "A03", "ウ";
        A04 = "A04", "エ";
        A05 = "A05", "オ";
        A06 = "A06", "オ（境）";
        B01 = "B01", "現役並みⅢ";
        B02 = "B02", "現役並みⅡ";
        B03 = "B03", "現役並みⅠ";
        B04 = "B04", "一般";
        B05 = "B05", "低所得Ⅱ";
        B06 = "B06", "低所得Ⅰ";
        B07 = "B07", "低所得Ⅰ（老福）";
        B08 = "B08", "低所得Ⅰ（境）";
        B09 = "B09", "一般Ⅱ";
        B10 = "B10", "一般Ⅰ";
    }
}

impl LimitCategory {
    /// A-categories apply under 70, B-categories from 70.
    pub fn for_seventy_and_over(self) -> bool {
        self.code().starts_with('B')
    }

    /// 一般Ⅱ/一般Ⅰ exist only in 後期高齢者医療 (法別番号 39).
    pub fn late_elderly_only(self) -> bool {
        matches!(self, LimitCategory::B09 | LimitCategory::B10)
    }
}

code_enum! {
    /// 特定疾病 (長期高額疾病) codes.
    DiseaseCode, "specific_diseases.code", "specific-disease code (特定疾病区分)" {
        Dialysis = "1", "人工腎臓を実施している慢性腎不全";
        Hemophilia = "2", "血漿分画製剤を投与している先天性血液凝固因子障害";
        BloodProductHiv = "3", "抗ウイルス剤を投与している後天性免疫不全症候群（血液製剤由来）";
    }
}

code_enum! {
    /// 資格有効性 (QualificationValidity): the verdict for the date of service.
    Validity, "validity", "qualification validity" {
        Valid = "1", "有効";
        Invalid = "2", "無効";
        InvalidNewerExists = "3", "無効（新しい資格あり）";
        NoRecord = "4", "該当資格なし";
        Multiple = "5", "複数該当";
    }
}

impl Validity {
    /// A stable name for people and logs.
    pub fn name(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::InvalidNewerExists => "invalid_newer_exists",
            Validity::NoRecord => "none",
            Validity::Multiple => "multiple",
        }
    }
}

code_enum! {
    /// How the terminal confirmed that the person holding the card is its holder.
    AuthMethod, "method", "identification method (本人確認方法)" {
        Pin = "pin", "暗証番号";
        Face = "face", "顔認証";
        Visual = "visual", "目視確認";
    }
}

code_enum! {
    /// Where a card was registered for health-insurance use (利用登録).
    RegistrationChannel, "channel", "registration channel" {
        Reader = "reader", "医療機関・薬局の顔認証付きカードリーダー";
        Portal = "portal", "マイナポータル";
        Atm = "atm", "セブン銀行ATM";
        Window = "window", "市区町村窓口";
    }
}

code_enum! {
    /// 診療区分 of a treatment record.
    TreatmentSetting, "setting", "treatment setting (診療区分)" {
        Outpatient = "1", "外来";
        HomeVisit = "2", "訪問";
        Online = "3", "オンライン";
        Emergency = "4", "救急";
        Inpatient = "5", "入院";
    }
}

code_enum! {
    /// What a patient can agree to show (the reader's consent screens).
    ConsentCategory, "category", "consent category" {
        /// 診療・薬剤情報: medication and treatment history (surgery excluded).
        Clinical = "clinical", "診療・薬剤情報";
        /// 特定健診情報: check-ups (offered from 40: 特定健診 to 74, 高齢者健診 from 75).
        Checkup = "checkup", "特定健診情報";
        /// 手術情報: the surgery entries of the treatment history.
        Surgery = "surgery", "手術情報";
        /// 限度額情報: the limit-amount category.
        LimitAmount = "limit_amount", "限度額情報";
    }
}

code_enum! {
    /// The kinds of medical records payers load.
    MedicalKind, "kind", "medical-record kind" {
        Medication = "medication", "薬剤情報";
        Treatment = "treatment", "診療情報";
        Checkup = "checkup", "特定健診情報";
        /// 医療費通知情報: what was paid, per month and institution (for the tax return).
        Expense = "expense", "医療費通知情報";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_name_the_choices() {
        for c in LimitCategory::ALL {
            assert_eq!(LimitCategory::parse(c.code()).unwrap(), *c);
        }
        assert_eq!(LimitCategory::ALL.len(), 16);
        let e = LimitCategory::parse("A07").unwrap_err();
        assert_eq!(e.code(), "limit.category.unknown");
        assert!(e.to_string().contains("A06 (オ（境）)"), "{e}");
        assert_eq!(
            serde_json::to_string(&CardClass::MedicalAid).unwrap(),
            "\"A1\""
        );
        assert_eq!(
            serde_json::from_str::<Relationship>("\"2\"").unwrap(),
            Relationship::Dependent
        );
        assert!(LimitCategory::B10.late_elderly_only());
        assert!(!LimitCategory::A06.for_seventy_and_over());
    }
}
