// Uppy's Dashboard in the page's language. Uppy's es_ES speaks to the reader as "tú"; Canvass
// speaks to the public as "usted" everywhere, so the strings that address the reader are
// replaced here (the rest of es_ES is impersonal and kept).
import esES from "@uppy/locales/lib/es_ES.js";

const USTED = {
  allowAccessDescription:
    "Para tomar fotos o grabar videos con su cámara, permita el acceso a la cámara para este sitio.",
  allowAccessTitle: "Permita el acceso a su cámara",
  allowAudioAccessDescription: "Para grabar audio, permita el acceso al micrófono para este sitio.",
  allowAudioAccessTitle: "Permita el acceso a su micrófono",
  authenticateWithTitle: "Autentíquese con %{pluginName} para seleccionar archivos",
  companionUnauthorizeHint: "Para desautorizar su cuenta de %{provider}, vaya a %{url}",
  copyLinkToClipboardFallback: "Copie la siguiente URL",
  dashboardWindowTitle: "Ventana para subir archivos (pulse Escape para cerrarla)",
  dropHint: "Suelte sus archivos aquí",
  dropPasteBoth: "Suelte archivos aquí, %{browseFiles} o %{browseFolders}",
  dropPasteFiles: "Suelte archivos aquí o %{browseFiles}",
  dropPasteFolders: "Suelte archivos aquí o %{browseFolders}",
  dropPasteImportBoth: "Suelte archivos aquí, %{browseFiles}, %{browseFolders} o importe desde:",
  dropPasteImportFiles: "Suelte archivos aquí, %{browseFiles} o importe desde:",
  dropPasteImportFolders: "Suelte archivos aquí, %{browseFolders} o importe desde:",
  enterCorrectUrl: "URL incorrecta: asegúrese de introducir un enlace directo a un archivo",
  enterTextToSearch: "Introduzca un texto para buscar imágenes",
  enterUrlToImport: "Introduzca la URL para importar un archivo",
  failedToFetch: "Companion no pudo recuperar esta URL; asegúrese de que es correcta",
  noAudioDescription: "Para grabar audio, conecte un micrófono u otro dispositivo de entrada de audio",
  noCameraDescription: "Para tomar fotos o grabar video, conecte una cámara",
  noFilesFound: "No tiene archivos ni carpetas aquí",
  recoveredAllFiles: "Se restauraron todos los archivos. Ya puede reanudar la subida.",
  recoveredXFiles: {
    0: "No pudimos recuperar completamente 1 archivo. Vuelva a seleccionarlo y reanude la subida.",
    1: "No pudimos recuperar completamente %{smart_count} archivos. Vuelva a seleccionarlos y reanude la subida.",
  },
  smile: "¡Sonría!",
  uploadStalled: "La subida no ha avanzado durante %{seconds} segundos. Puede intentarlo de nuevo.",
  youCanOnlyUploadFileTypes: "Solo puede subir: %{types}",
  youCanOnlyUploadX: {
    0: "Solo puede subir %{smart_count} archivo",
    1: "Solo puede subir %{smart_count} archivos",
  },
  youHaveToAtLeastSelectX: {
    0: "Debe seleccionar al menos %{smart_count} archivo",
    1: "Debe seleccionar al menos %{smart_count} archivos",
  },
};

export const esUsted = { ...esES, strings: { ...esES.strings, ...USTED } };

const LOCALES = { es: esUsted };

// The Uppy locale for the page's <html lang> (undefined: Uppy's own English).
export function uppyLocale() {
  const lang = (document.documentElement.lang || "en").toLowerCase().split("-")[0];
  return LOCALES[lang];
}
