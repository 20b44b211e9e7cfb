// The tip as the API takes it, read from the tip form (shared by tip.js and tip-offline.js).
export function tipFields(form) {
  const data = new FormData(form);
  const number = (name) => (data.get(name) ? Number(data.get(name)) : null);
  return {
    agency: form.dataset.agency,
    category: data.get("category") || "",
    description: data.get("description") || "",
    occurred_at: data.get("occurred_at") || "",
    latitude: number("latitude"),
    longitude: number("longitude"),
    address: data.get("address") || "",
    contact: data.get("contact") || "",
    share_file_metadata: data.get("share_file_metadata") === "yes",
  };
}
