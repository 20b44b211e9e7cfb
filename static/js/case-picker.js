// The add-to-case autocomplete: type a case number or title, choose one of your open cases.
// The choice fills a hidden `case` id beside the text box (the box alone, typed in full,
// still works without script). Options are built from text nodes only: titles are user text.
(() => {
  const DEBOUNCE_MS = 200;

  function setup(root) {
    const input = root.querySelector("input[role=combobox]");
    const hidden = root.querySelector("input[data-case-id]");
    const list = root.querySelector("[role=listbox]");
    const chosen = root.querySelector("[data-case-chosen]");
    let timer = null;
    let asked = 0;
    let active = -1;

    function options() {
      return Array.from(list.querySelectorAll("[role=option]"));
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const all = options();
      all.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
      active = index;
      if (all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(found) {
      input.value = found.number;
      hidden.value = found.id;
      chosen.textContent = `Chosen: case ${found.number} — ${found.title}`;
      close();
      root.dispatchEvent(new CustomEvent("case-chosen", { bubbles: true, detail: found }));
    }

    function show(results) {
      list.replaceChildren();
      if (!results.length) {
        const none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No open case of yours matches.";
        list.append(none);
      }
      results.forEach((found, i) => {
        const option = document.createElement("li");
        option.id = `${input.id}-option-${i}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.caseId = found.id;
        const number = document.createElement("strong");
        number.textContent = found.number;
        option.append(number, document.createTextNode(` — ${found.title}`));
        // mousedown, not click: the box would lose focus (and close the list) first.
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          choose(found);
        });
        list.append(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    async function lookUp() {
      const ask = ++asked;
      const url = `${root.dataset.lookup}?${new URLSearchParams({ q: input.value.trim() })}`;
      try {
        const response = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(`${response.status}`);
        const body = await response.json();
        if (ask === asked) show(body.results);
      } catch (error) {
        if (ask === asked) {
          close();
          chosen.textContent = "Cases could not be looked up; type the case number in full.";
        }
      }
    }

    input.addEventListener("input", () => {
      if (hidden.value) {
        hidden.value = "";
        chosen.textContent = "";
        root.dispatchEvent(new CustomEvent("case-chosen", { bubbles: true, detail: null }));
      }
      clearTimeout(timer);
      timer = setTimeout(lookUp, DEBOUNCE_MS);
    });
    input.addEventListener("focus", () => {
      if (!hidden.value) {
        clearTimeout(timer);
        timer = setTimeout(lookUp, DEBOUNCE_MS);
      }
    });
    input.addEventListener("blur", close);
    input.addEventListener("keydown", (event) => {
      const all = options();
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        if (list.hidden) list.hidden = false;
        highlight((active + 1) % all.length);
      } else if (event.key === "ArrowUp" && all.length) {
        event.preventDefault();
        highlight((active - 1 + all.length) % all.length);
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        all[active].dispatchEvent(new MouseEvent("mousedown", { cancelable: true }));
      } else if (event.key === "Escape") {
        close();
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-case-picker]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
