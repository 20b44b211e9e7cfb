// The receipt box (templates/submissions/receipt_box.html): copy, save as a .txt file, print,
// and a warning before the page is left while the receipt is not yet kept anywhere. The
// receipt stays only in this page: nothing here stores it or sends it anywhere.

const strings = () => {
  const el = document.getElementById("tip-strings");
  return el ? JSON.parse(el.textContent) : {};
};

function fmt(template, values) {
  return (template || "").replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

export function guardReceipt(section) {
  const T = strings();
  const receipt = section.querySelector("[data-role=receipt]").textContent.trim();
  const reference = section.querySelector("[data-role=reference]").textContent.trim();
  if (!receipt || section.dataset.guarded) return;
  section.dataset.guarded = "1";
  // The print stylesheet (canvass.css) then prints the receipt alone.
  document.body.classList.add("receipt-shown");
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
  };
  kept.addEventListener("change", () => {
    saved = kept.checked;
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
    window.print();
    markSaved(T.printed);
  });
}

// The no-JavaScript receipt page (and the tip page once its receipt is shown, from tip.js).
const filled = document.getElementById("tip-receipt");
if (filled && !filled.hidden) guardReceipt(filled);
