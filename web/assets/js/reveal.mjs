// Conditional reveals for radios, without the aria-expanded that GOV.UK Frontend 6.3 puts on
// radio inputs (axe-core: aria-expanded is not allowed on a radio). Markup: the GOV.UK radios
// macro's output with data-module="app-reveal" instead of "govuk-radios". Without
// JavaScript every revealed part simply stays visible.

export function startReveals(root = document) {
  root.querySelectorAll('[data-module="app-reveal"]').forEach((group) => {
    const inputs = Array.from(group.querySelectorAll("input[data-aria-controls]"));
    for (const input of inputs) {
      input.setAttribute("aria-controls", input.getAttribute("data-aria-controls"));
    }
    const sync = () => {
      for (const input of inputs) {
        const target = document.getElementById(input.getAttribute("data-aria-controls"));
        if (target) {
          target.classList.toggle("govuk-radios__conditional--hidden", !input.checked);
        }
      }
    };
    group.addEventListener("change", sync);
    sync();
  });
}
