//! Orders to containers through the Docker Engine: restart, stop, start and kill. Each
//! container is inspected first: if it is no longer what the operator saw when confirming,
//! nothing is done to it and the answer says so. Each container's outcome is one audit
//! record; the new state shows when the Engine's events report it.

use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, RestartContainerOptions, StartContainerOptions,
    StopContainerOptions,
};

use super::{Context, audit};
use crate::clients::docker::{connect, connect_with, words};
use crate::platform::containers::from_inspect;

/// How long one order may take: the Engine answers a stop or restart only once the
/// container stopped, which may be its whole stop timeout (10 s by default) and then a kill.
const ORDER_SECS: u64 = 60;
use crate::orders::{ContainerAim, ContainerOp};

/// Carries out `op` on each aimed container; one line each, ok or not.
pub async fn carry_out(
    ctx: &Context,
    op: &ContainerOp,
    host: &str,
    aims: &[ContainerAim],
) -> Result<Vec<(bool, String)>, crate::event::Failure> {
    let act = crate::orders::Order::Container {
        op: op.clone(),
        host: host.to_string(),
        aims: Vec::new(),
    }
    .act();
    // Its own second check, as every other action has: whoever calls, demo and read-only
    // are refused here too (and the refusal audited).
    let names: Vec<&str> = aims.iter().map(|a| a.name.as_str()).collect();
    super::gate(ctx, act, &format!("{} on {host}", names.join(", ")), b"").await?;
    let settings = ctx
        .docker
        .as_ref()
        .ok_or("Docker is not configured here ([docker] url is empty)".to_string())?;
    let docker = connect_with(settings, ORDER_SECS)
        .await
        .map_err(|why| format!("{host}: not reachable ({why})"))?;
    let mut lines = Vec::with_capacity(aims.len());
    for aim in aims {
        let (ok, line) = one(&docker, op, aim).await;
        audit(
            ctx,
            act.audit_name(),
            &format!("{} on {host}", aim.name),
            aim.id.as_bytes(),
            if ok { "done" } else { "refused" },
            &line,
        )
        .await;
        lines.push((ok, line));
    }
    Ok(lines)
}

async fn one(docker: &bollard::Docker, op: &ContainerOp, aim: &ContainerAim) -> (bool, String) {
    let name = &aim.name;
    let now = match docker
        .inspect_container(&aim.id, None::<InspectContainerOptions>)
        .await
    {
        Ok(c) => from_inspect(&c).summary(),
        Err(e) => {
            return (
                false,
                format!("{name}: not found ({}); nothing done", words(&e)),
            );
        }
    };
    if now != aim.seen {
        return (
            false,
            format!(
                "{name} has changed since you chose it: it was {}, it is {now} now; nothing done",
                aim.seen
            ),
        );
    }
    let done = match op {
        ContainerOp::Restart => {
            docker
                .restart_container(&aim.id, None::<RestartContainerOptions>)
                .await
        }
        ContainerOp::Stop => {
            docker
                .stop_container(&aim.id, None::<StopContainerOptions>)
                .await
        }
        ContainerOp::Start => {
            docker
                .start_container(&aim.id, None::<StartContainerOptions>)
                .await
        }
        ContainerOp::Kill(signal) => {
            docker
                .kill_container(
                    &aim.id,
                    Some(KillContainerOptions {
                        signal: signal.clone(),
                    }),
                )
                .await
        }
    };
    match done {
        Ok(()) => (true, format!("{name}: {} done", op.verb())),
        Err(e) => (
            false,
            format!("{name}: {} failed: {}", op.verb(), words(&e)),
        ),
    }
}

/// Follows a container's logs into the activity stream, once: asking again while they are
/// followed does nothing. Never in the demo, whose containers are simulated.
pub fn follow(
    ctx: &Context,
    id: String,
    source: String,
    tx: tokio::sync::mpsc::Sender<crate::event::Event>,
) {
    let Some(settings) = ctx.docker.clone() else {
        return;
    };
    if ctx.gate.demo {
        return;
    }
    let Ok(mut followed) = ctx.docker_logs.lock() else {
        return;
    };
    if !followed.insert(id.clone()) {
        return;
    }
    let followed = ctx.docker_logs.clone();
    tokio::spawn(async move {
        if let Ok(docker) = connect(&settings).await {
            let hand_on = move |items| -> crate::clients::docker::Handed {
                let tx = tx.clone();
                Box::pin(async move { crate::event::hand_on_lines(&tx, items).await })
            };
            crate::clients::docker::follow_logs(
                docker,
                id.clone(),
                source,
                settings.logs_since,
                hand_on,
            )
            .await;
        }
        if let Ok(mut f) = followed.lock() {
            f.remove(&id);
        }
    });
}
