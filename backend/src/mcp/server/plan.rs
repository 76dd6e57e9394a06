//! Whether the user's plan lets a connected app work now. A call through `/mcp` spends no model
//! tokens, so it is not metered; but when the plan's allowance is used up (the messages of the
//! day or the hour, the tokens of the month) or allows nothing at all, connected apps are paused
//! with the chat, in the same words, until the allowance resets.

use uuid::Uuid;

use crate::billing::plans::Plan;
use crate::billing::usage::UsageSummary;
use crate::billing::{Billing, BillingError};

/// The sentence refusing the user's connected apps now, or `None` when they may work.
pub async fn refusal(billing: &Billing, user_id: Uuid) -> Result<Option<String>, BillingError> {
    let (plan, _) = billing.plan_of(user_id).await?;
    if plan.messages_per_day.is_none() && plan.messages_per_hour.is_none() && plan.tokens_per_month.is_none()
    {
        return Ok(None);
    }
    let usage = billing.usage(user_id).await?;
    Ok(refusal_for(&plan, &usage))
}

/// What [`refusal`] decides, from the plan and the user's usage.
fn refusal_for(plan: &Plan, usage: &UsageSummary) -> Option<String> {
    let name = &plan.name;
    if plan.messages_per_day == Some(0) || plan.messages_per_hour == Some(0) {
        return Some(format!("Your {name} plan does not include using Jarvis from connected apps."));
    }
    if let Some(allowed) = plan.messages_per_day
        && usage.messages_today >= allowed
    {
        return Some(format!(
            "You have sent all {allowed} messages your {name} plan allows today, so connected apps are paused until midnight UTC. Upgrade for more."
        ));
    }
    let month = &usage.month;
    let tokens = month.input_tokens
        + month.output_tokens
        + month.cache_read_input_tokens
        + month.cache_creation_input_tokens;
    if let Some(allowed) = plan.tokens_per_month
        && tokens >= allowed
    {
        return Some(format!(
            "You have used the {allowed} tokens your {name} plan allows this month, so connected apps are paused until next month. Upgrade for more."
        ));
    }
    if let Some(allowed) = plan.messages_per_hour
        && usage.messages_this_hour >= allowed
    {
        return Some(format!(
            "You have sent {allowed} messages in the last hour, the most your {name} plan allows, so connected apps are paused for a while. Try again later."
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::messages::Usage;

    fn plan(day: Option<u64>, hour: Option<u64>, tokens: Option<u64>) -> Plan {
        Plan {
            id: "free".into(),
            name: "Free".into(),
            price_id: None,
            price_label: String::new(),
            messages_per_day: day,
            messages_per_hour: hour,
            tokens_per_month: tokens,
            voice: false,
            storage_bytes: None,
            models: Vec::new(),
        }
    }

    fn usage(today: u64, hour: u64, tokens: u64) -> UsageSummary {
        UsageSummary {
            messages_today: today,
            messages_this_hour: hour,
            month: Usage { input_tokens: tokens / 2, output_tokens: tokens - tokens / 2, ..Usage::default() },
            cost_micros_this_month: 0,
        }
    }

    #[test]
    fn a_plan_without_limits_or_with_allowance_left_lets_apps_work() {
        assert_eq!(refusal_for(&plan(None, None, None), &usage(1_000, 1_000, 1_000_000)), None);
        assert_eq!(refusal_for(&plan(Some(20), Some(10), Some(1_000)), &usage(19, 9, 999)), None);
    }

    #[test]
    fn a_used_up_allowance_pauses_apps_and_says_which_and_until_when() {
        let day = refusal_for(&plan(Some(20), None, None), &usage(20, 0, 0)).unwrap();
        assert!(day.contains("all 20 messages") && day.contains("midnight UTC"), "{day}");
        let month = refusal_for(&plan(None, None, Some(1_000)), &usage(0, 0, 1_001)).unwrap();
        assert!(month.contains("1000 tokens") && month.contains("next month"), "{month}");
        let hour = refusal_for(&plan(None, Some(10), None), &usage(10, 10, 0)).unwrap();
        assert!(hour.contains("last hour"), "{hour}");
    }

    #[test]
    fn a_plan_that_allows_no_messages_does_not_include_connected_apps() {
        let none = refusal_for(&plan(Some(0), None, None), &usage(0, 0, 0)).unwrap();
        assert_eq!(none, "Your Free plan does not include using Jarvis from connected apps.");
    }
}
