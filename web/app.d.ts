// web/app.js is browser code served as text; the server imports its text only.
declare const text: string;
export default text;
