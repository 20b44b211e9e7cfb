// The receipt box (templates/submissions/receipt_box.html): copy, save as a .txt file, print,
// and a warning before the page is left while the receipt is not yet kept anywhere. The
// receipt stays only in this page: nothing here stores it or sends it anywhere. Used by the
// no-JavaScript receipt page, the tip page (tip.js) and the tips sent once back online
// (tip-offline.js, which shows each in a copy of the page's box via receiptCard below).

const strings = () => {
  const el = document.getElementById("tip-strings");
  return el ? JSON.parse(el.textContent) : {};
};

function fmt(template, values) {
  return (template || "").replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

// Ctrl+P and the Print button print one receipt alone (canvass.css): the one shown last, or
// the one whose Print button was pressed.
function printThis(section) {
  document.querySelectorAll(".receipt-printing").forEach((el) => el.classList.remove("receipt-printing"));
  section.classList.add("receipt-printing");
}

// A filled copy of the page's (hidden, empty) receipt box, for a receipt that arrives while
// the page is in use for something else: the box's words come in the page's language.
export function receiptCard({ receipt, reference }) {
  const template = document.getElementById("tip-receipt");
  if (!template) return null;
  const card = template.cloneNode(true);
  card.removeAttribute("id");
  card.removeAttribute("data-guarded");
  card.classList.remove("receipt-printing");
  card.querySelector("[data-role=receipt]").textContent = receipt;
  card.querySelector("[data-role=reference]").textContent = reference || "";
  card.querySelectorAll("[data-role=files], [data-role=files-status]").forEach((el) => el.remove());
  // A copy of a box already in use starts afresh: nothing kept, nothing said yet.
  card.querySelector("[data-role=receipt-kept]").checked = false;
  card.querySelector("[data-role=receipt-action-status]").textContent = "";
  card.hidden = false;
  return card;
}

// `onKept` is called once the receipt was copied, saved, printed or ticked as kept.
export function guardReceipt(section, { onKept } = {}) {
  const T = strings();
  const receipt = section.querySelector("[data-role=receipt]").textContent.trim();
  const reference = section.querySelector("[data-role=reference]").textContent.trim();
  if (!receipt || section.dataset.guarded) return;
  section.dataset.guarded = "1";
  // The print stylesheet (canvass.css) then prints the receipt alone.
  document.body.classList.add("receipt-shown");
  printThis(section);
  section.querySelectorAll(".js-only").forEach((el) => {
    el.hidden = false;
  });
  const status = section.querySelector("[data-role=receipt-action-status]");
  const kept = section.querySelector("[data-role=receipt-kept]");
  let saved = false;
  const onLeave = (event) => {
    if (saved) return undefined;
    event.preventDefault();
    // Older browsers show a dialog only when returnValue is set; none shows this text.
    event.returnValue = T.leaveWarning || "";
    return event.returnValue;
  };
  window.addEventListener("beforeunload", onLeave);
  const markSaved = (message) => {
    saved = true;
    kept.checked = true;
    if (message) status.textContent = message;
    onKept?.();
  };
  kept.addEventListener("change", () => {
    saved = kept.checked;
    if (saved) onKept?.();
  });

  section.querySelector("[data-role=copy-receipt]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(receipt);
      markSaved(T.copied);
    } catch {
      // No clipboard (an old browser, or permission refused): select it for a manual copy.
      const range = document.createRange();
      range.selectNodeContents(section.querySelector("[data-role=receipt]"));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = T.copyFailed;
    }
  });

  section.querySelector("[data-role=save-receipt]").addEventListener("click", () => {
    const text = fmt(T.receiptFile, {
      receipt,
      reference,
      url: section.dataset.returnUrl,
    });
    const blob = new Blob([`${text}\n`], { type: "text/plain;charset=utf-8" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `tip-${reference || "receipt"}.txt`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    markSaved(T.savedFile);
  });

  section.querySelector("[data-role=print-receipt]").addEventListener("click", () => {
    printThis(section);
    window.print();
    markSaved(T.printed);
  });
}

// The no-JavaScript receipt page (and the tip page once its receipt is shown, from tip.js).
const filled = document.getElementById("tip-receipt");
if (filled && !filled.hidden) guardReceipt(filled);
