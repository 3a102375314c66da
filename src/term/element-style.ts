/**
 * @types/blessed types an element's `style` as `any`; this is the part of it we set, typed
 * once so the client's panes and the server's dashboard do not each reach into an `any`.
 */
export interface ElementStyle {
  /** Present when the element was made with a border. */
  border?: { fg?: string };
}

export function styleOf(element: { style: unknown }): ElementStyle {
  return element.style as ElementStyle;
}
