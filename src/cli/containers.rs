//! `chavion-tui containers`: the agents' containers as the Containers view shows them, and
//! restart, stop, start and kill from the shell, through the same gate, confirmation and
//! audited action as the TUI. Exit 0 once the Engine confirmed, 1 when it refused or the
//! container changed, 2 when refused here (read-only, demo, no answer), 3 when the Engine
//! could not be reached.

use serde_json::json;
use std::process::ExitCode;

use super::fleet::{Go, context, gated};
use crate::app::model::containers::Docker;
use crate::clients::docker;
use crate::config::Settings;
use crate::gate::Gate;
use crate::orders::{ContainerAim, ContainerOp, Order};
use crate::platform::containers::Container;

async fn listed(settings: &Settings) -> Result<(Docker, Vec<Container>), ExitCode> {
    let Some(s) = crate::wiring::docker_settings(settings) else {
        eprintln!("chavion-tui: Docker is not configured: set [docker] url");
        return Err(ExitCode::from(2));
    };
    let book = Docker::new(&settings.config);
    let engine = docker::connect(&s).await.map_err(|why| {
        eprintln!(
            "chavion-tui: docker: not reachable at {} ({why})",
            book.host
        );
        ExitCode::from(3)
    })?;
    let all = docker::list(&s, &engine).await.map_err(|why| {
        eprintln!("chavion-tui: docker: {why}");
        ExitCode::from(3)
    })?;
    Ok((book, all))
}

/// The list as the screen shows it, or as JSON.
pub async fn list(settings: &Settings, as_json: bool) -> ExitCode {
    let (book, all) = match listed(settings).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let agent = |c: &Container| {
        book.agent_of(c)
            .map(|i| settings.config.agents[i].name.get_ref().clone())
    };
    if as_json {
        let rows: Vec<_> = all
            .iter()
            .map(|c| {
                json!({
                    "name": c.name, "id": c.id, "service": c.service, "agent": agent(c),
                    "image": c.image, "state": c.state.word(), "summary": c.summary(),
                    "health": c.health, "restarts": c.restarts, "exit_code": c.exit_code,
                    "oom_killed": c.oom_killed, "ports": c.ports,
                    "started_at": c.started_at, "finished_at": c.finished_at,
                })
            })
            .collect();
        println!(
            "{}",
            crate::sanitize::json_line(&json!({"host": book.host, "containers": rows}))
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<28} {:<10} {:<24} {:>8}  {:<24} PORTS",
        "CONTAINER", "AGENT", "STATE", "RESTARTS", "IMAGE"
    );
    for c in &all {
        println!(
            "{:<28} {:<10} {:<24} {:>8}  {:<24} {}",
            c.name,
            agent(c).unwrap_or_else(|| "—".into()),
            c.summary(),
            c.restarts,
            c.image,
            c.ports.join(", ")
        );
    }
    ExitCode::SUCCESS
}

/// `containers restart|stop|start|kill NAME`: NAME is a container or a Compose service.
pub async fn order(
    settings: &Settings,
    gate: Gate,
    op: ContainerOp,
    name: &str,
    go: Go,
) -> ExitCode {
    let ctx = match context(settings, gate).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let probe = Order::Container {
        op: op.clone(),
        host: String::new(),
        aims: Vec::new(),
    };
    if let Err(code) = gated(&ctx, probe.act(), name).await {
        return code;
    }
    let (book, all) = match listed(settings).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let aims: Vec<ContainerAim> = all
        .iter()
        .filter(|c| c.name == name || c.service.as_deref() == Some(name))
        .map(|c| ContainerAim {
            id: c.id.clone(),
            name: c.name.clone(),
            seen: c.summary(),
        })
        .collect();
    if aims.is_empty() {
        eprintln!(
            "chavion-tui: no container or service called {name} on {}",
            book.host
        );
        return ExitCode::from(1);
    }
    let order = Order::Container {
        op,
        host: book.host.clone(),
        aims,
    };
    if !go.yes
        && let Err(code) = super::confirm(&question(&order, &book.host), None).await
    {
        return code;
    }
    let lines = match crate::actions::fleet::carry_out(&ctx, order).await {
        Ok(l) => l,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(3);
        }
    };
    print_lines(&lines, go.json);
    if lines.iter().all(|(ok, _)| *ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What the operator is asked before an order: the order, the Engine, each container's
/// state as it was found.
fn question(order: &Order, host: &str) -> String {
    let Order::Container { aims, .. } = order else {
        return order.words();
    };
    let states: Vec<String> = aims
        .iter()
        .map(|a| format!("{}: {} now", a.name, a.seen))
        .collect();
    format!(
        "{} on the Docker Engine at {host}\n{}",
        order.words(),
        states.join("\n")
    )
}

/// Each container's line, as text or one JSON array.
fn print_lines(lines: &[(bool, String)], json: bool) {
    if json {
        let rows: Vec<_> = lines
            .iter()
            .map(|(ok, l)| json!({"ok": ok, "said": l}))
            .collect();
        println!("{}", crate::sanitize::json_line(&json!(rows)));
    } else {
        for (_, l) in lines {
            println!("{l}");
        }
    }
}
