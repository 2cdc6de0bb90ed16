//! Web Push notifications (RFC 8030/8291/8292): a new website lead to the office (while the
//! company is open) and managers, a booked, moved or cancelled visit to its technician, a
//! follow-up handed over to its rep. Each person turns each kind off in their account.
//!
//! Notices are best effort and come after the commit: the write a notice is about is already
//! on every device's next pull, and the in-app badge shows it whether or not a notice arrives.
//! So a notice is queued in memory (`Notifier::notify`, never blocking the request) and sent by
//! one task (`deliver`); a full queue or an unreachable push service costs a notice, never a
//! write.

mod deliver;
pub mod endpoint;
mod routes;
pub mod vapid;

use app::sync::mutation::Mutation;
use tokio::sync::mpsc;
use uuid::Uuid;

pub use routes::router;

/// What a notice is about. Who gets it, and what it says, is read when it is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Notice {
    NewLead { lead: Uuid },
    Visit { consultation: Uuid, change: VisitChange },
    FollowUp { followup: Uuid },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VisitChange {
    Booked,
    Moved,
    Cancelled,
}

/// The kinds a person can turn off (`users.notify_off`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    NewLead,
    Visit,
    FollowUp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NewLead => "new_lead",
            Kind::Visit => "visit",
            Kind::FollowUp => "follow_up",
        }
    }
}

impl Notice {
    pub fn kind(self) -> Kind {
        match self {
            Notice::NewLead { .. } => Kind::NewLead,
            Notice::Visit { .. } => Kind::Visit,
            Notice::FollowUp { .. } => Kind::FollowUp,
        }
    }

    /// The notice a device's applied write calls for, if any. `author` is who wrote it: nobody
    /// is told of what they did themselves. A lead logged with its first contact (a phone call
    /// the office took, a technician's lead on site) is already answered: no notice.
    pub fn of_write(mutation: &Mutation, author: Uuid) -> Option<Notice> {
        let for_other = |who: Option<Uuid>| who.is_some_and(|w| w != author);
        match mutation {
            Mutation::LeadCreate(m) if m.first_contact_at.is_none() => Some(Notice::NewLead { lead: m.id }),
            Mutation::ConsultationCreate(m) if m.scheduled_at.is_some() && for_other(m.technician_id) => {
                Some(Notice::Visit { consultation: m.id, change: VisitChange::Booked })
            }
            Mutation::Reschedule(m) => Some(Notice::Visit { consultation: m.id, change: VisitChange::Moved }),
            Mutation::Cancel(m) => Some(Notice::Visit { consultation: m.id, change: VisitChange::Cancelled }),
            Mutation::FollowupSchedule(m) if for_other(m.assignee_id) => {
                Some(Notice::FollowUp { followup: m.id })
            }
            Mutation::FollowupReassign(m) if m.assignee_id != author => {
                Some(Notice::FollowUp { followup: m.id })
            }
            _ => None,
        }
    }
}

/// A notice on its way: the company, whoever caused it (never told), and what.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub company: Uuid,
    pub author: Option<Uuid>,
    pub notice: Notice,
}

/// Where writes hand their notices over (a cheap clone; `AppState::push`).
#[derive(Clone)]
pub struct Notifier {
    queue: mpsc::Sender<Job>,
    pub key: vapid::VapidKey,
    pub allow_loopback: bool,
}

/// Notices waiting to be sent at most; past it new ones are dropped (and logged): a burst of
/// thousands of leads a second is summed up per company anyway (`deliver`).
const QUEUE: usize = 4096;

impl Notifier {
    /// Starts the sending task; it ends when the server shuts down.
    pub fn start(
        pool: sqlx::PgPool,
        key: vapid::VapidKey,
        config: &crate::config::PushConfig,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(deliver::run(pool, key.clone(), config.contact.clone(), jobs, shutdown));
        Notifier { queue, key, allow_loopback: config.allow_loopback }
    }

    pub fn notify(&self, job: Job) {
        if let Err(mpsc::error::TrySendError::Full(job)) = self.queue.try_send(job) {
            tracing::warn!(company = %job.company, ?job.notice, "push queue full: notice dropped");
        }
    }

    /// The notices of a device's push: one per applied write that calls for one. A lead whose
    /// visit the same push starts (a technician's lead on site) is no lead to answer.
    pub fn after_push<'a>(&self, company: Uuid, author: Uuid, applied: impl Iterator<Item = &'a Mutation>) {
        let applied: Vec<&Mutation> = applied.collect();
        let visited: Vec<Uuid> = applied
            .iter()
            .filter_map(|m| match m {
                Mutation::ConsultationCreate(c) => Some(c.lead_id),
                _ => None,
            })
            .collect();
        for notice in applied.into_iter().filter_map(|m| Notice::of_write(m, author)) {
            if matches!(notice, Notice::NewLead { lead } if visited.contains(&lead)) {
                continue;
            }
            self.notify(Job { company, author: Some(author), notice });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::sync::mutation::{ConsultationCreate, FollowupReassign, LeadCreate};

    #[test]
    fn nobody_is_told_of_their_own_write_nor_of_a_lead_already_answered() {
        let (me, tech) = (Uuid::now_v7(), Uuid::now_v7());
        let waiting = LeadCreate { id: Uuid::now_v7(), ..Default::default() };
        assert!(matches!(
            Notice::of_write(&Mutation::LeadCreate(waiting.clone()), me),
            Some(Notice::NewLead { .. })
        ));
        let called = LeadCreate { first_contact_at: Some(chrono::Utc::now()), ..waiting };
        assert_eq!(Notice::of_write(&Mutation::LeadCreate(called), me), None);
        let visit = |who| ConsultationCreate {
            id: Uuid::now_v7(),
            technician_id: Some(who),
            scheduled_at: Some(chrono::Utc::now()),
            ..Default::default()
        };
        assert!(Notice::of_write(&Mutation::ConsultationCreate(visit(tech)), me).is_some());
        assert_eq!(Notice::of_write(&Mutation::ConsultationCreate(visit(me)), me), None);
        let mine = FollowupReassign { id: Uuid::now_v7(), assignee_id: me };
        assert_eq!(Notice::of_write(&Mutation::FollowupReassign(mine), me), None);
    }
}
